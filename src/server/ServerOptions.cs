// src/server/ServerOptions.cs: the server's command line. Every limit has its default here and its flag in Usage.
//
// A record, so that a test can start a server in-process with `ServerOptions.Parse(["0", "--max-clients", "5"])`
// exactly as a user would from the command line. The memory budgets default to shares of the memory the
// runtime sees (GC.GetGCMemoryInfo: a container's limit counts), so that no client can exhaust the machine.

using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;

namespace KV;

public sealed record ServerOptions(
    int Port, IPAddress? Bind, int MaxClients, int MaxLineBytes, TimeSpan IdleTimeout, int Threads, long MaxMemory,
    long MaxClientMemory, string? Password, TimeSpan RequestTimeout,
    ThreadingModel? Threading = null, bool UnsafeNoLock = false)
{
    /// <summary>The --threading model: the pool unless another is named.</summary>
    public ThreadingModel Threading { get; init; } = Threading ?? ThreadingModels.Default;

    /// <summary>The values given for the options a feature registered (FeatureOptions), checked, by name.</summary>
    public ImmutableDictionary<string, string> FeatureValues { get; init; } =
        ImmutableDictionary<string, string>.Empty;

    /// <summary>A feature's option as given, or its default.</summary>
    public string Feature(FeatureOption option) => FeatureValues.GetValueOrDefault(option.Name, option.Default);

    /// <summary>The port a feature's listener was given (FeatureListener), or null when it is not to listen.</summary>
    public int? PortOf(FeatureListener listener) =>
        FeatureValues.TryGetValue(listener.Port.Name, out var port) ? int.Parse(port) : null;

    public const string Usage = """
        usage: dotnet KVServer.cs [PORT]
               dotnet KVServer.cs -- [PORT] [--bind ADDR] [--password PASSWORD] [--max-memory SIZE]
                                     [--max-client-memory SIZE] [--max-clients N] [--max-line-bytes N]
                                     [--idle-timeout SECONDS] [--request-timeout SECONDS] [--threads N]
                                     [--threading MODEL] [--unsafe-no-lock] [a feature's options]

          PORT                 TCP port to listen on (default 9000; 0 picks a free port)
          --bind ADDR          the address (or host name) to listen on (default: every interface, IPv4 and IPv6)
          --password PASSWORD  every connection must give it first, with: auth PASSWORD (default: the
                               environment variable KV_PASSWORD, else no password)
          --max-memory SIZE    the most the store holds; a set past it is refused (default: half the memory
                               the runtime sees; 0: unlimited). SIZE: bytes, or 100kb, 64mb, 2gb (1k = 1000)
          --max-client-memory SIZE
                               the most all clients' unfinished requests, unsent replies and listings hold
                               together; past it the largest is closed, and a listing that would not fit is
                               refused (default: a sixteenth of that memory; 0: unlimited)
          --max-clients N      clients connected at once; one more gets an ERROR and is closed (default 16384)
          --max-line-bytes N   longest request line; a longer one gets an ERROR and is closed (default 1048576)
          --idle-timeout S     close a client that completes no request, or reads none of its replies, for S
                               seconds (default 0: never)
          --request-timeout S  a request must finish arriving within S seconds, or it gets an ERROR and the
                               connection closes (default 60; 0: never)
          --threads N          the most threads the server's pool may have (default: 16, or 4 a core if more)
          --threading MODEL    how clients get a thread (default: pool, the ThreadPool answers every client;
                               the models built in are listed below, and docs/threading.md compares them)
          --unsafe-no-lock     run the store WITHOUT its lock, to show a class a real data race: concurrent
                               writers lose updates and can corrupt the table. Only with --bind to a
                               loopback address (127.0.0.1 or ::1)
          --help               this text
        """;

    /// <summary>The usage text, with the options the features built in registered.</summary>
    public static string FullUsage =>
        Usage + $"\n  --threading models built in: {string.Join(", ", ThreadingModels.All.Select(m => m.Name))}"
        + string.Concat(FeatureOptions.All.Select(o => "\n" + o.Usage));

    /// <summary>The memory the runtime may use: the machine's, or the container's limit.</summary>
    public static long AvailableMemory => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    public static ServerOptions Default { get; } = new(
        9000, null, 16_384, 1024 * 1024, TimeSpan.Zero, Math.Max(16, 4 * Environment.ProcessorCount),
        MaxMemory: AvailableMemory / 2, MaxClientMemory: AvailableMemory / 16, Password: null,
            RequestTimeout: TimeSpan.FromSeconds(60));

    /// <summary>The options of a command line; a FormatException names the argument that is wrong.</summary>
    public static ServerOptions Parse(IReadOnlyList<string> args, string? passwordFromEnvironment = null)
    {
        var options = Default with { Password = string.IsNullOrEmpty(passwordFromEnvironment)
            ? null : passwordFromEnvironment };
        var portSeen = false;
        for (var i = 0; i < args.Count; i++)
        {
            if (!args[i].StartsWith("--"))
            {
                options = portSeen ? throw new FormatException($"unexpected argument '{args[i]}'")
                    : options with { Port = ParsePort(args[i]) };
                portSeen = true;
                continue;
            }
            var name = args[i];
            string Next() => i + 1 < args.Count ? args[++i] : throw new FormatException($"{name} needs a value");
            int Number(int min, int max) =>
                int.TryParse(Next(),
                    out var n) && n >= min && n <= max
                    ? n : throw new FormatException($"invalid value '{args[i]}' for {name} (expected {min} to {max})");
            options = name switch
            {
                "--bind" => options with { Bind = ResolveBind(Next()) },
                "--password" => options with { Password = Next() is { Length: > 0 } password
                    ? password : throw new FormatException("--password needs a value") },
                "--max-memory" => options with { MaxMemory = ParseSize(Next(), name) },
                "--max-client-memory" => options with { MaxClientMemory = ParseSize(Next(), name) },
                "--max-clients" => options with { MaxClients = Number(1, 1_000_000) },
                "--max-line-bytes" => options with { MaxLineBytes = Number(64, LineFraming.LongestLineBytes) },
                "--idle-timeout" => options with { IdleTimeout = TimeSpan.FromSeconds(Number(0, 86_400)) },
                "--request-timeout" => options with { RequestTimeout = TimeSpan.FromSeconds(Number(0, 86_400)) },
                "--threads" => options with { Threads = Number(1, 32_767) },
                "--unsafe-no-lock" => options with { UnsafeNoLock = true },
                "--threading" => options with { Threading = ThreadingModels.Find(Next())
                    ?? throw UnknownModel(args[i]) },
                _ when FeatureOptions.Find(name) is { } feature => options with
                {
                    FeatureValues = options.FeatureValues.SetItem(name, Next() is var value
                        && feature.Problem(value) is { } problem ? throw new FormatException(problem) : value),
                },
                _ => throw new FormatException($"unknown option '{name}'"),
            };
        }
        if (options.Threading.Unsupported is { } unsupported) throw new FormatException(unsupported);
        options = options with { MaxClients = options.Threading.AdmitsAtMost(options.MaxClients) };
        if (options.UnsafeNoLock && options.ReachableFromOutside)
            throw new FormatException(
                "--unsafe-no-lock needs --bind 127.0.0.1 (or ::1): a store without its lock is for a class on one "
                + "machine");
        foreach (var listener in FeatureListeners.All)
            if (options.PortOf(listener) is { } port && port == options.Port && port != 0)
                throw new FormatException($"{listener.Port.Name} {port} is the same port as KV's own protocol (give " +
                    $"each its own port)");
        return options;
    }

    /// <summary>
    /// An address, or a name resolved now, at start (`localhost` is 127.0.0.1: IPv4 first, as most clients try it).
    /// </summary>
    private static IPAddress ResolveBind(string text)
    {
        if (IPAddress.TryParse(text, out var address)) return address;
        try
        {
            var found = Dns.GetHostAddresses(text);
            return found.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? found.First();
        }
        catch (Exception e) when (e is SocketException or ArgumentException or InvalidOperationException)
        {
            throw new FormatException($"invalid address '{text}' for --bind (not an IP address, and the name does " +
                $"not resolve)");
        }
    }

    /// <summary>
    /// Sizes as Redis takes them: bytes, or a number with k, kb, m, mb, g, gb (k is 1000, kb 1024), any case.
    /// </summary>
    public static long ParseSize(string text, string option)
    {
        var lower = text.Trim().ToLowerInvariant();
        var (digits, unit) = lower.EndsWith("kb") ? (lower[..^2], 1L << 10) : lower.EndsWith("mb") ? (lower[..^2],
            1L << 20)
            : lower.EndsWith("gb") ? (lower[..^2], 1L << 30) : lower.EndsWith('k') ? (lower[..^1], 1000L)
            : lower.EndsWith('m') ? (lower[..^1], 1_000_000L) : lower.EndsWith('g') ? (lower[..^1],
                1_000_000_000L) : (lower, 1L);
        return long.TryParse(digits, out var number) && number >= 0 && number <= long.MaxValue / unit
            ? number * unit
            : throw new FormatException($"invalid size '{text}' for {option} (bytes, or a number with kb, mb or gb: " +
                $"64mb)");
    }

    /// <summary>A size as it is typed (64mb, 1.5gb; one decimal at most), and 0 as "unlimited".</summary>
    public static string FormatSize(long bytes) =>
        bytes == 0 ? "unlimited"
        : bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.#}gb"
        : bytes >= 1L << 20 ? $"{bytes / (double)(1L << 20):0.#}mb"
        : bytes >= 1L << 10 ? $"{bytes / (double)(1L << 10):0.#}kb"
        : $"{bytes} bytes";

    /// <summary>
    /// True when clients beyond this machine can connect: every interface, or an address that is not loopback.
    /// </summary>
    public bool ReachableFromOutside => Bind is null || !IPAddress.IsLoopback(Bind);

    private static FormatException UnknownModel(string name)
    {
        var names = ThreadingModels.All.Select(model => model.Name).ToList();
        var expected = names.Count == 1 ? names[0] : $"{string.Join(", ", names[..^1])} or {names[^1]}";
        return new($"invalid value '{name}' for --threading (expected {expected})");
    }

    private static int ParsePort(string text) =>
        PortProblem(text) is { } problem ? throw new FormatException(problem) : int.Parse(text);

    /// <summary>Why `text` is not a port (null when it is one): for the main port and a feature's listener.</summary>
    public static string? PortProblem(string text) => int.TryParse(text, out var port) && port is >= 0 and <= 65535
        ? null : $"invalid port '{text}' (expected a number from 0 to 65535)";

    private static string Seconds(TimeSpan timeout) => timeout > TimeSpan.Zero ? $"{timeout.TotalSeconds} s" : "off";

    /// <summary>The limits in force, for the start line.</summary>
    public string Summary =>
        $"threading {Threading.Name}, thread pool max {Threads}, max clients {MaxClients}, max line {MaxLineBytes} " +
            $"bytes, idle timeout {Seconds(IdleTimeout)}, request timeout {Seconds(RequestTimeout)}, " +
        $"max memory {FormatSize(MaxMemory)}, " +
        $"max client memory {FormatSize(MaxClientMemory)}, " +
        $"password {(Password is null ? "off" : "on")}" +
        // A listener's port is on the start line already, beside its address.
        string.Concat(FeatureValues.Where(given => FeatureListeners.All.All(open => open.Port.Name != given.Key))
            .Select(given => $", {given.Key.TrimStart('-')} {given.Value}")) +
        (UnsafeNoLock ? ", STORE LOCK OFF: UNSAFE, DATA RACES ON PURPOSE (--unsafe-no-lock)" : "");
}

/// <summary>
/// An option a feature adds to the server's command line (src/scripting's --script-time-limit): its name, default,
/// usage lines, and the check of a value (null when it is good, else why not).
/// </summary>
public sealed record FeatureOption(string Name, string Default, string Usage, Func<string, string?> Problem);

/// <summary>The plug point for a feature's options: registered when its folder is built in.</summary>
public static class FeatureOptions
{
    private static ImmutableArray<FeatureOption> all = [];

    public static ImmutableArray<FeatureOption> All => all;

    public static void Register(FeatureOption option) => ImmutableInterlocked.Update(ref all, list => list.Add(option));

    public static FeatureOption? Find(string name) => all.FirstOrDefault(o => o.Name == name);
}

/// <summary>
/// A protocol a feature serves on a listener of its own (src/resp: Redis's, on --resp-port), opened when its option
/// gives a port: the option, the name the start line and the log give it, and the handler of each connection.
/// </summary>
public sealed record FeatureListener(FeatureOption Port, string Name, ConnectionHandlerFactory Handler);

/// <summary>The plug point for a feature's listener; its port option is registered with it.</summary>
public static class FeatureListeners
{
    private static ImmutableArray<FeatureListener> all = [];

    public static ImmutableArray<FeatureListener> All => all;

    public static void Register(FeatureListener listener)
    {
        FeatureOptions.Register(listener.Port);
        ImmutableInterlocked.Update(ref all, list => list.Add(listener));
    }
}
