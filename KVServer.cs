#!/usr/bin/env dotnet
// KVServer.cs: the server's start-up. `dotnet KVServer.cs [PORT]`, options after `--` (ServerOptions.Usage).
//
// Its job is what only a process has: the command line, the thread-pool cap, the listening socket's errors,
// Ctrl+C and SIGTERM, the log on standard output, and the exit code. The includes below are the whole server,
// a folder a role: the protocol; the store (src/store: the data and its table); the serving (src/server: the
// options, the listeners, a connection and its buffers, KV's line handler, listings, the clients' memory
// budget, the password, the log, the pool model). Then the features, a folder each, which the
// core never names: the other threading models (src/threading), the store's table packed into slabs (src/slabs),
// memory given back after a burst (src/memory), eviction past --max-memory (src/eviction), the push queue
// (src/push), monitor (src/monitor), publish and subscribe (src/pubsub), Redis's protocol (src/resp), scripts
// (src/scripting) and the data types (src/types). Monitor and pub/sub push through src/push and register RESP
// commands, so they need both; eviction, scripts and the types need src/resp; the others need nothing but the core.

#:include Protocol.cs
#:include src/store/*.cs
#:include src/server/*.cs
#:include src/threading/*.cs
#:include src/slabs/*.cs
#:include src/memory/*.cs
#:include src/eviction/*.cs
#:include src/push/*.cs
#:include src/monitor/*.cs
#:include src/pubsub/*.cs
#:include src/resp/*.cs
#:include src/scripting/*.cs
#:include src/types/*.cs
#:property ConcurrentGarbageCollection=false
// Each method compiled once, optimized, at its first call, not first quickly and again later: the server is at its
// speed from its first requests, and a first burst leaves no second compilations resident (megabytes; see
// `dotnet bench.cs -- --memory`). A start takes a little longer.
#:property TieredCompilation=false

using System.Net.Sockets;
using System.Runtime.InteropServices;
using KV;

const int Sigint = 2;

// Read by the pool when it starts its first thread, so set first (PoolThreading.IdleSpins says why).
if (PoolThreading.IdleSpins(Environment.ProcessorCount) is { } spins)
    AppContext.SetData(PoolThreading.IdleSpinsSetting, spins);

ServerOptions options;
try
{
    if (args is ["--help"] or ["-h"])
    {
        Console.WriteLine(ServerOptions.FullUsage);
        return 0;
    }
    options = ServerOptions.Parse(args, Environment.GetEnvironmentVariable("KV_PASSWORD"));
}
catch (FormatException e)
{
    Console.Error.WriteLine($"ERROR: {e.Message} (see 'dotnet KVServer.cs -- --help')");
    return 2;
}

// The cap: SetMaxThreads refuses one below the core count (or below the minimum), so check what it says.
// The minimum (threads ready without waiting for the pool to inject more, which it does only every half second
// or so) is one a core and one more, so that a thread busy with a long listing's slice never leaves a request
// waiting, even on one core; it must not exceed the cap.
var minimum = Math.Min(Environment.ProcessorCount + 1, options.Threads);
if (!ThreadPool.SetMaxThreads(options.Threads, options.Threads) || !ThreadPool.SetMinThreads(minimum, minimum))
{
    var cap = options.Threads == 1 ? "1 thread" : $"{options.Threads} threads";
    Console.Error.WriteLine($"ERROR: the thread pool refused a cap of {cap} (it must be at least the " +
        $"{Environment.ProcessorCount} cores)");
    return 2;
}

// The start lines below are written before any client can fill the output; every line after them goes through
// the queue, stamped with its time, so that a slow or stuck standard output never holds a request up.
var log = new LogQueue(Console.OpenStandardOutput());
KVServer server;
try
{
    server = KVServer.Listen(options, log.Write);
}
catch (ListenException e)
{
    var what = e.Error == SocketError.AddressAlreadyInUse
        ? $"port {e.Port} is already in use" : $"cannot listen on {options.Bind}:{e.Port}";
    Console.Error.WriteLine($"ERROR: {what} ({e.Message})");
    return 1;
}

// A shell starts a background job with SIGINT ignored, and .NET leaves an ignored signal ignored: `kill -INT`
// would do nothing. The server is stopped by SIGINT however it was started, so the default comes back first.
if (!OperatingSystem.IsWindows()) RestoreDefault(Sigint);

using var stopping = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stopping.Cancel();
}
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

var others = string.Concat(FeatureListeners.All.Select(feature => server.EndpointOf(feature) is { } endpoint
    ? $" and {feature.Name} on {endpoint}" : ""));
// The warning comes first, so that whoever waits for the start line has seen it by then.
if (options.ReachableFromOutside && options.Password is null)
    Console.WriteLine($"WARNING: no password, and {server.Endpoint} takes connections from other machines: anyone " +
        $"who can reach it can read and change every key. " +
        "Set one with --password (or KV_PASSWORD), or listen on this machine only with --bind 127.0.0.1.");
Console.WriteLine($"KV server listening on {server.Endpoint}{others} ({options.Summary})");
await Task.WhenAll([server.RunAsync(stopping.Token),
    .. KVServer.Companions.Select(companion => companion(server, log.Write, stopping.Token))]);
log.Write("KV server stopped");
log.Close(KVServer.ShutdownDeadline);
return 0;

[DllImport("libc", EntryPoint = "signal")]
static extern nint RestoreDefault(int signal, nint handler = 0 /* SIG_DFL */);
