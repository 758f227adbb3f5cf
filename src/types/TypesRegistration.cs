// src/types/TypesRegistration.cs: feature: how lists, hashes, sets and sorted sets join the server when this folder
// is part of the program: their RESP commands into RESP's table, KV's own list commands into the line protocol's,
// and the blocked clients into `stats` (and so INFO). The core names no kind; without this folder LPUSH is unknown.

using System.Runtime.CompilerServices;

namespace KV;

internal static class TypesRegistration
{
    [ModuleInitializer]
    internal static void Register()
    {
        RespCommand[][] tables =
        [
            ListCommands.Rows, BlockingPops.Rows, HashCommands.Rows, SetCommands.Rows, SortedSetCommands.Rows,
            SortedSetRanges.Rows, StreamCommands.Rows, StreamReads.Rows, StreamGroupCommands.Rows,
        ];
        foreach (var command in tables.SelectMany(rows => rows)) RespCommands.Register(command);
        LineLists.Register();
        ServerStats.Register(static (server, _) =>
            [new("blocked_clients", server.Activity.Existing<Waiters>()?.Blocked ?? 0)]);
    }
}
