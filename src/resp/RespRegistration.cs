// src/resp/RespRegistration.cs: how Redis's protocol joins the server. The core names no feature; when this folder
// is part of a program (`#:include src/resp/*.cs`), this registers RESP's listener (--resp-port, off unless given)
// and its connection handler as the program's code is loaded, before any server starts.

using System.Runtime.CompilerServices;

namespace KV;

internal static class RespRegistration
{
    /// <summary>Redis's protocol on a port of its own, as KV's start line and log name it.</summary>
    public static readonly FeatureListener Listener = new(
        new FeatureOption("--resp-port", "off",
            """
              --resp-port PORT     also speak Redis's protocol (RESP2, RESP3) on this port (default: off; 0: a
                                   free port)
            """,
            ServerOptions.PortProblem),
        "RESP",
        static (store, server, access, peer, maxLineBytes) =>
            new RespHandler(new RespSession(store, server, access, peer), maxLineBytes));

    [ModuleInitializer]
    internal static void Register() => FeatureListeners.Register(Listener);
}
