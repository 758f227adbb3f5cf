// src/memory/MemoryRegistration.cs: how the memory keeper joins the server when this folder is part of the program:
// KVServer.cs runs one beside its server, reading what the server holds and trimming its buffer pool. Without it,
// the resident size stays near the most the server ever held.

using System.Runtime.CompilerServices;

namespace KV;

internal static class MemoryRegistration
{
    [ModuleInitializer]
    internal static void Register() => KVServer.Companions.Add(static (server, log, stopping) =>
        new MemoryKeeper(() => server.HeldBytes, server.TrimBuffers, log).RunAsync(stopping));
}
