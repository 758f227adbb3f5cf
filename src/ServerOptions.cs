// src/ServerOptions.cs: the server's command line. Every limit has its default here and its flag in Usage.
//
// A record, so that a test can start a server in-process with `ServerOptions.Parse(["0", "--max-clients", "5"])`
// exactly as a user would from the command line.

using System.Net;
using System.Net.Sockets;

namespace KV;

public sealed record ServerOptions(int Port, IPAddress? Bind, int MaxClients, int MaxLineBytes, TimeSpan IdleTimeout, int Threads, int? RespPort)
{
    public const string Usage = """
        usage: dotnet KVServer.cs [PORT]
               dotnet KVServer.cs -- [PORT] [--resp-port PORT] [--bind ADDR] [--max-clients N] [--max-line-bytes N]
                                     [--idle-timeout SECONDS] [--threads N]

          PORT                 TCP port to listen on (default 9000; 0 picks a free port)
          --resp-port PORT     also speak Redis's protocol (RESP2) on this port (default: off; 0 picks a free port)
          --bind ADDR          the address (or host name) to listen on (default: every interface, IPv4 and IPv6)
          --max-clients N      clients connected at once; one more gets an ERROR and is closed (default 16384)
          --max-line-bytes N   longest request line; a longer one gets an ERROR and is closed (default 1048576)
          --idle-timeout S     close a client silent for S seconds (default 0: never)
          --threads N          the thread-pool cap, ThreadPool.SetMaxThreads (default max(16, 4 x cores))
          --help               this text
        """;

    public static ServerOptions Default { get; } =
        new(9000, null, 16_384, 1024 * 1024, TimeSpan.Zero, Math.Max(16, 4 * Environment.ProcessorCount), RespPort: null);

    /// <summary>The options of a command line; a FormatException names the argument that is wrong.</summary>
    public static ServerOptions Parse(IReadOnlyList<string> args)
    {
        var options = Default;
        var portSeen = false;
        for (var i = 0; i < args.Count; i++)
        {
            if (!args[i].StartsWith("--"))
            {
                options = portSeen ? throw new FormatException($"unexpected argument '{args[i]}'") : options with { Port = ParsePort(args[i]) };
                portSeen = true;
                continue;
            }
            var name = args[i];
            string Next() => i + 1 < args.Count ? args[++i] : throw new FormatException($"{name} needs a value");
            int Number(int min, int max) =>
                int.TryParse(Next(), out var n) && n >= min && n <= max ? n : throw new FormatException($"invalid value '{args[i]}' for {name} (expected {min} to {max})");
            options = name switch
            {
                "--bind" => options with { Bind = ResolveBind(Next()) },
                "--resp-port" => options with { RespPort = ParsePort(Next()) },
                "--max-clients" => options with { MaxClients = Number(1, 1_000_000) },
                "--max-line-bytes" => options with { MaxLineBytes = Number(64, LineFraming.LongestLineBytes) },
                "--idle-timeout" => options with { IdleTimeout = TimeSpan.FromSeconds(Number(0, 86_400)) },
                "--threads" => options with { Threads = Number(1, 32_767) },
                _ => throw new FormatException($"unknown option '{name}'"),
            };
        }
        return options;
    }

    /// <summary>An address, or a name resolved now, at start (`localhost` is 127.0.0.1: IPv4 first, as most clients try it).</summary>
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
            throw new FormatException($"invalid address '{text}' for --bind (not an IP address, and the name does not resolve)");
        }
    }

    private static int ParsePort(string text) =>
        int.TryParse(text, out var port) && port is >= 0 and <= 65535 ? port : throw new FormatException($"invalid port '{text}' (expected a number from 0 to 65535)");

    /// <summary>The limits in force, for the start line.</summary>
    public string Summary =>
        $"thread pool max {Threads}, max clients {MaxClients}, max line {MaxLineBytes} bytes, idle timeout {(IdleTimeout > TimeSpan.Zero ? $"{IdleTimeout.TotalSeconds} s" : "off")}";
}
