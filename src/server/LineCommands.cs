// src/server/LineCommands.cs: the core's plug point for KV's own commands that a feature serves. Every command is a
// row of Protocol.cs's one table (the client reads it for help and completion); LineHandler answers the core's
// rows, and a feature folder (src/monitor, src/pubsub) registers how to answer its own. A row nobody registered
// is answered with an ERROR that says so: the server was built without that feature.

using System.Buffers;
using System.Collections.Concurrent;

namespace KV;

/// <summary>Answers one parsed request; true when the connection is to close after the reply.</summary>
public delegate bool LineCommand(ClientSession session, ParsedRequest request, IBufferWriter<byte> output);

public static class LineCommands
{
    private static readonly ConcurrentDictionary<CommandKind, LineCommand> registered = new();

    /// <summary>A feature's module initializer calls this; a kind registered twice is a bug.</summary>
    public static void Register(CommandKind kind, LineCommand command)
    {
        if (!registered.TryAdd(kind, command)) throw new InvalidOperationException($"{kind} is registered twice");
    }

    public static LineCommand? Find(CommandKind kind) => registered.GetValueOrDefault(kind);
}
