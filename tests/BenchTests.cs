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

    [Theory]
    [InlineData("--quick goes with --models", "--quick           with --models: the run for a class slot", "--quick")]
    [InlineData("--quick goes with --models", "--quick           with --models: the run for a class slot", "--quick",
        "--rounds", "3")]
    [InlineData("--elements and --unlike go with --memory", "--memory          a fresh KV and a fresh Redis",
        "--unlike")]
    [InlineData("--elements and --unlike go with --memory", "--memory          a fresh KV and a fresh Redis",
        "--elements", "1000")]
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
