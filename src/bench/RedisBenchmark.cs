// src/bench/RedisBenchmark.cs: the second, independent load generator of --models: Redis's own redis-benchmark, one C
// thread, against each server's RESP port (KV's --resp-port, or Redis), pinned to the load's core like bench.cs.
// It sees each server as Redis's users would, and it checks bench.cs: a table whose two generators disagree on
// the order of the servers is telling about its load, not its servers.

namespace KV;

static class RedisBenchmark
{
    /// <summary>The clients of its rows, and their name: "redis-benchmark -c 50 SET".</summary>
    public const int Clients = 50;

    /// <summary>Whether redis-benchmark is installed (Debian's redis-tools).</summary>
    public static bool Installed { get; } = ModelsTable.Ask("redis-benchmark", "--version") is not null;

    /// <summary>
    /// SET then GET, each (requests) times, against the port, on `cpus` when given: each test's ops/s, p50 and p99.
    /// </summary>
    public static async Task<List<(string Test, double OpsPerSecond, double P50, double P99)>> RunAsync(int port,
        BenchOptions o, int requests, string? cpus)
    {
        string[] arguments = ["-h", "127.0.0.1", "-p", port.ToString(), "-c", Clients.ToString(), "-n",
            requests.ToString(), "-d", o.ValueSize.ToString(), "-r", o.Keys.ToString(), "-t", "set,get", "--csv"];
        using var process = ModelsTable.Launch(cpus, "redis-benchmark", arguments);
        // Both read at once: a pipe left unread fills, and its writer waits for ever.
        var errors = process.StandardError.ReadToEndAsync();
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms",...
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Trim().Split(',').Select(field => field.Trim('"')).ToArray()).ToList();
        var header = lines.FirstOrDefault(fields => fields[0] == "test");
        if (process.ExitCode != 0 || header is null)
            throw new IOException($"redis-benchmark failed on port {port}: {output}{await errors}");
        double Field(string[] fields, string name) => double.Parse(fields[Array.IndexOf(header, name)],
            System.Globalization.CultureInfo.InvariantCulture);
        return [.. lines.Where(fields => fields != header && fields.Length == header.Length)
            .Select(fields => (fields[0], Field(fields, "rps"), Field(fields, "p50_latency_ms"),
                Field(fields, "p99_latency_ms")))];
    }
}
