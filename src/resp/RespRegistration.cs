// src/resp/RespRegistration.cs: how Redis's protocol joins the server. The core names no feature; when this folder
// is part of a program (`#:include src/resp/*.cs`), this registers RESP's connection handler for the second
// listener (--resp-port) as the program's code is loaded, before any server starts.

using System.Runtime.CompilerServices;

namespace KV;

internal static class RespRegistration
{
    [ModuleInitializer]
    internal static void Register() =>
        KVServer.SecondProtocol = static (store, server, access, peer, maxLineBytes) =>
            new RespHandler(new RespSession(store, server, access, peer), maxLineBytes);
}
