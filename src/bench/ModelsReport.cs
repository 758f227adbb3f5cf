// src/bench/ModelsReport.cs: the --models table, from a run's Measurements: a row a measure, a column a server,
// each cell the median of the rounds with the lowest and highest beside it, and ops/s also as a ratio to Redis,
// taken round by round. A difference smaller than the spread shown is none: this is what lets a reader judge.

using System.Text;
using System.Text.RegularExpressions;

namespace KV;

static class ModelsReport
{
    public static string Table(Measurements run)
    {
        var names = run.Contenders;
        var text = new StringBuilder();
        var spread = run.Rounds > 1 ? " (lowest-highest)" : "";
        text.AppendLine($"| {run.Shape}, median of {run.Rounds}{spread} | {string.Join(" | ", names)} |");
        text.AppendLine($"|---|{string.Concat(names.Select(_ => "---:|"))}");
        // The load's rows in the order they ran, then the idle connections' (measured first, shown last); a p99
        // is shown with its p50.
        var rows = run.Rows.Where(row => !row.EndsWith(": p99"))
            .OrderBy(row => row.Contains(" idle connections")).ToList();
        foreach (var row in rows)
            text.AppendLine($"| {row} | {string.Join(" | ", names.Select(name => Cell(run, name, row)))} |");
        text.AppendLine($"{run.Machine}; {run.Date}.");
        text.AppendLine($"`{run.Command}`");
        if (LoadCheck(run) is { } check) text.AppendLine().AppendLine(check);
        return text.ToString();
    }

    private static string Cell(Measurements run, string name, string row)
    {
        var values = run.Values(name, row);
        if (values.Count == 0) return "-";
        if (row.EndsWith("ops/s"))
        {
            var ratios = name == run.Reference ? [] : run.RatiosToReference(name, row);
            var ratio = ratios.Count > 0 ? " " + Spread(ratios, r => $"{r:0.00}", unit: "x") : "";
            return Spread(values, Thousands) + ratio;
        }
        if (row.EndsWith("p50 / p99 ms"))
            return $"{Measurements.Middle(values):0.00} / " +
                Spread(run.Values(name, row.Replace("p50 / p99 ms", "p99")), ms => $"{ms:0.00}");
        return Spread(values, row.EndsWith("threads") ? v => $"{v:N0}" : row.EndsWith("a request")
            ? v => $"{v:0.00}" : v => $"{v:0.0}");
    }

    /// <summary>The median and its unit, then the lowest and highest in brackets when there were several rounds.
    /// </summary>
    public static string Spread(IReadOnlyList<double> values, Func<double, string> shown, string unit = "") =>
        values.Count < 2 ? shown(values[0]) + unit
            : $"{shown(Measurements.Middle(values))}{unit} ({shown(values.Min())}-{shown(values.Max())})";

    private static string Thousands(double value) => value >= 10_000 ? $"{value / 1000:0}k" : $"{value:N0}";

    /// <summary>
    /// Whether bench.cs, not the server, set the pace: it is not the limit when it drives Redis at least as fast
    /// as Redis's own redis-benchmark does from the same core. Null when the run had no such pair.
    /// </summary>
    private static string? LoadCheck(Measurements run)
    {
        if (run.Reference is not { } redis || run.Median(redis, "50 clients, pinned: ops/s") is not { } ours)
            return null;
        var theirs = run.Rows
            .Select(row => Regex.Match(row, $@"^redis-benchmark -c {RedisBenchmark.Clients} (\w+), pinned: ops/s$"))
            .Where(match => match.Success)
            .Select(match => (Test: match.Groups[1].Value, Median: run.Median(redis, match.Value)))
            .Where(pair => pair.Median is not null).ToList();
        if (theirs.Count == 0) return null;
        var verdict = theirs.All(pair => ours >= pair.Median) ? "is not the limit" : "**may be the limit**";
        return $"The load generator: with 50 clients on the load core, bench.cs drove {redis} at {ours:N0} ops/s, " +
            $"redis-benchmark at {string.Join(" and ", theirs.Select(pair => $"{pair.Median:N0} ({pair.Test})"))}: " +
            $"bench.cs {verdict}.";
    }
}
