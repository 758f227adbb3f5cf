// tests/BenchTests.cs: bench.cs still runs against a server and reports what it measured. No test asserts a time.

using System.Diagnostics;
using System.Text.RegularExpressions;
using KV;
using Xunit;

public class BenchSmokeTests
{
    [Theory]
    [InlineData("1")]
    [InlineData("8")]
    public async Task Bench_runs_for_a_second_with_operations_and_no_errors(string pipeline)
    {
        await using var server = InProcessServer.Start();
        var serverPid = Environment.ProcessId.ToString();
        using var bench = Process.Start(Programs.StartInfo(
            await Programs.DllAsync("bench.cs"), "--port", server.Port.ToString(), "--seconds", "1", "--clients", "4",
            "--keys", "500", "--pipeline", pipeline, "--server-pid", serverPid))!;
        var output = await bench.StandardOutput.ReadToEndAsync(Programs.Timeout());
        await bench.WaitForExitAsync(Programs.Timeout());

        Assert.Equal(0, bench.ExitCode);
        Assert.True(long.Parse(Regex.Match(output, @"ops/s: (\d+)").Groups[1].Value) > 0, output);
        Assert.Contains("errors: 0", output);
        Assert.Matches(@"latency ms: p50 [\d.]+  p90 [\d.]+  p99 [\d.]+  p99.9 [\d.]+  max [\d.]+", output);
        Assert.Contains($"server pid {serverPid}: RSS", output);
        await using var check = await server.ConnectAsync();
        Assert.Equal(500, Assert.IsType<Reply.Keys>(await check.AskAsync("list")).Names.Length);
    }

    [Fact]
    public async Task The_race_counts_every_increment_made_with_incr_and_never_more_than_were_made_with_get_then_set()
    {
        await using var server = InProcessServer.Start();
        using var bench = Process.Start(Programs.StartInfo(
            await Programs.DllAsync("bench.cs"), "--race", "--port", server.Port.ToString(), "--clients", "8",
                "--increments", "250"))!;
        var output = await bench.StandardOutput.ReadToEndAsync(Programs.Timeout());
        await bench.WaitForExitAsync(Programs.Timeout());

        Assert.Equal(0, bench.ExitCode);
        var getThenSet = Regex.Match(output, @"(?m)^get then set\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)");
        var incr = Regex.Match(output, @"(?m)^incr\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)");
        long Number(Match row, int column) => long.Parse(row.Groups[column].Value.Replace(",", ""));
        Assert.True(getThenSet.Success && incr.Success, output);
        Assert.Equal([2000, 2000, 0], [Number(incr, 1), Number(incr, 2), Number(incr, 3)]);
        Assert.Equal(2000, Number(getThenSet, 1));
        Assert.Equal(Number(getThenSet, 1) - Number(getThenSet, 2), Number(getThenSet, 3));
        Assert.InRange(Number(getThenSet, 2), 1, 2000);
        Assert.Equal("2000", await server.StoredAsync("race:incr"));
        // incr's history is always linearizable; get then set's is not whenever an update was lost (a number written
        // twice), and then the bench names the two clients that lost it.
        Assert.Matches(@"(?m)^incr .* linearizable$", output);
        if (Number(getThenSet, 3) > 0)
        {
            Assert.Matches(@"(?m)^get then set .* not linearizable$", output);
            Assert.Matches(
                @"get then set: the lost update it found: clients \d+ and \d+ both read \d+ and both wrote \d+",
                output);
        }
    }

    [Fact]
    public async Task The_race_draws_its_lost_update_as_a_timeline_when_it_finds_one()
    {
        await using var server = InProcessServer.Start();
        var picture = Path.Combine(Path.GetTempPath(), $"kv-race-{Guid.NewGuid():N}.svg");
        using var bench = Process.Start(Programs.StartInfo(await Programs.DllAsync("bench.cs"), "--race", "--port",
            server.Port.ToString(), "--clients", "8", "--increments", "250", "--svg", picture))!;
        var output = await bench.StandardOutput.ReadToEndAsync(Programs.Timeout());
        await bench.WaitForExitAsync(Programs.Timeout());
        try
        {
            Assert.Equal(0, bench.ExitCode);
            if (!File.Exists(picture))
            {
                // No lost update this time (a schedule can serve the clients one after the other): nothing to draw.
                Assert.Contains("no lost update to draw", output);
                return;
            }
            var svg = System.Xml.Linq.XDocument.Load(picture);
            System.Xml.Linq.XNamespace ns = "http://www.w3.org/2000/svg";
            Assert.Equal(2, svg.Descendants(ns + "rect").Count(rect => (string?)rect.Attribute("fill") == "#d62728"));
            Assert.Contains(svg.Descendants(ns + "text"), t => t.Value.Contains("one of the two increments is lost"));
        }
        finally
        {
            File.Delete(picture);
        }
    }

    [Fact]
    public async Task The_pubsub_bench_delivers_every_message_to_one_subscriber_and_counts_the_rest()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        using var bench = Process.Start(Programs.StartInfo(
            await Programs.DllAsync("bench.cs"), "--pubsub", "--port", server.RespPort.ToString(), "--seconds",
                "0.3"))!;
        var output = await bench.StandardOutput.ReadToEndAsync(Programs.Timeout());
        await bench.WaitForExitAsync(Programs.Timeout());

        Assert.Equal(0, bench.ExitCode);
        var rows = Regex.Matches(output,
            @"(?m)^\s+(\d+)\s+([\d,]+)\s+([\d,]+)$").Select(m => m.Groups.Values.Skip(1).Select(g
            => long.Parse(g.Value.Replace(",", ""))).ToArray()).ToList();
        Assert.Equal([1L, 10, 100], rows.Select(r => r[0]));
        Assert.All(rows, r => Assert.True(r[1] > 0 && r[2] <= r[1] * r[0], output));
    }

    [Fact]
    public async Task A_saved_run_is_reported_with_medians_spreads_and_ratios_round_by_round_and_drawn()
    {
        // A run as --save writes it: three rounds of two servers; KV's second round is Redis's slowest.
        object Cell(string contender, string row, params double[] values) =>
            new { Contender = contender, Row = row, Values = values };
        var run = new
        {
            Machine = "2 cores (test)", Date = "2026-12-07 12:00 UTC", Command = "dotnet bench.cs -- --models",
            Shape = "100-byte values", Rounds = 3, Contenders = new[] { "KV loops", "Redis 7.0.15" },
            Cells = new[]
            {
                Cell("KV loops", "1 client, pinned: ops/s", 15_000, 16_000, 14_000),
                Cell("Redis 7.0.15", "1 client, pinned: ops/s", 15_000, 15_000, 15_000),
                Cell("KV loops", "1 client, pinned: p50 / p99 ms", 0.05, 0.06, 0.07),
                Cell("KV loops", "1 client, pinned: p99", 0.2, 0.1, 0.3),
                Cell("Redis 7.0.15", "1 client, pinned: p99", 0.1, 0.1, 0.1),
                Cell("KV loops", "50 clients, pinned: ops/s", 110_000, 90_000, 130_000),
                Cell("Redis 7.0.15", "50 clients, pinned: ops/s", 100_000, 60_000, 100_000),
                Cell("KV loops", "50 clients, pinned: p99", 4, 5, 6),
                Cell("Redis 7.0.15", "50 clients, pinned: p99", 3, 3, 3),
                Cell("Redis 7.0.15", "redis-benchmark -c 50 GET, pinned: ops/s", 90_000, 95_000, 92_000),
                Cell("KV loops", "10,000 idle connections: KB each", 3.1, 3.0, 3.2),
                Cell("Redis 7.0.15", "10,000 idle connections: KB each", 1.4, 1.4, 1.4),
            },
        };
        var directory = Directory.CreateTempSubdirectory("kv-models-").FullName;
        try
        {
            var saved = Path.Combine(directory, "run.json");
            await File.WriteAllTextAsync(saved, System.Text.Json.JsonSerializer.Serialize(run));
            using var bench = Process.Start(Programs.StartInfo(await Programs.DllAsync("bench.cs"), "--report", saved,
                "--svg", directory))!;
            var output = await bench.StandardOutput.ReadToEndAsync(Programs.Timeout());
            await bench.WaitForExitAsync(Programs.Timeout());

            Assert.Equal(0, bench.ExitCode);
            Assert.Contains("| 100-byte values, median of 3 (lowest-highest) | KV loops | Redis 7.0.15 |", output);
            // The ratio is taken round by round (1.1, 1.5, 1.3), not from the medians (110k / 100k).
            Assert.Contains("| 50 clients, pinned: ops/s | 110k (90k-130k) 1.30x (1.10-1.50) | 100k (60k-100k) |",
                output);
            Assert.Contains("| 1 client, pinned: p50 / p99 ms | 0.06 / 0.20 (0.10-0.30) | - |", output);
            Assert.Contains("| 10,000 idle connections: KB each | 3.1 (3.0-3.2) | 1.4 (1.4-1.4) |", output);
            Assert.Contains("bench.cs drove Redis 7.0.15 at 100,000 ops/s, redis-benchmark at 92,000 (GET): " +
                "bench.cs is not the limit", output);
            foreach (var (chart, shows) in new[] { ("models-throughput.svg", "KV loops"), ("models-p99.svg",
                "Redis 7.0.15"), ("models-idle-memory.svg", "3.1 KB") })
            {
                var svg = System.Xml.Linq.XDocument.Load(Path.Combine(directory, chart));
                Assert.Contains(svg.Descendants().Where(e => e.Name.LocalName == "text"),
                    text => text.Value.Trim() == shows);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("--quick goes with --models", "--quick           with --models: the run for a class slot", "--quick")]
    [InlineData("--quick goes with --models", "--quick           with --models: the run for a class slot", "--quick",
        "--rounds", "3")]
    [InlineData("--elements and --unlike go with --memory", "--memory          a fresh KV and a fresh Redis",
        "--unlike")]
    [InlineData("--elements and --unlike go with --memory", "--memory          a fresh KV and a fresh Redis",
        "--elements", "1000")]
    [InlineData("--save goes with --models", "--save FILE       with --models", "--save", "run.json")]
    [InlineData("--svg goes with --models or --race", "--svg DIR         with --models", "--svg", "charts")]
    public async Task An_option_of_another_mode_is_refused_and_says_so(string error, string usage,
        params string[] arguments)
    {
        using var bench = Process.Start(Programs.StartInfo([await Programs.DllAsync("bench.cs"), .. arguments]))!;
        var output = await bench.StandardOutput.ReadToEndAsync(Programs.Timeout());
        await bench.WaitForExitAsync(Programs.Timeout());
        Assert.Equal(2, bench.ExitCode);
        Assert.StartsWith("ERROR: " + error, output);
        Assert.Contains(usage, output);
    }
}
