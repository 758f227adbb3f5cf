// src/bench/Measurements.cs: what a --models run measured: every round's value of every cell (a server and a
// row), with the machine, the date and the command. Saved with --save FILE, so that the table and the charts can
// be made again from the same run (--report FILE), and so that docs quote a run anyone can read back.

using System.Text.Json;

namespace KV;

sealed class Measurements
{
    /// <summary>One server's values for one row, a value a round, in the order the rounds ran.</summary>
    public sealed record Cell(string Contender, string Row, List<double> Values);

    public string Machine { get; init; } = "";
    public string Date { get; init; } = "";
    public string Command { get; init; } = "";

    /// <summary>What every case shares: the values' size, the keys, the share of gets, a case's length.</summary>
    public string Shape { get; init; } = "";

    public int Rounds { get; init; }
    public List<string> Contenders { get; init; } = [];
    public List<Cell> Cells { get; init; } = [];

    public void Add(string contender, string row, double value)
    {
        if (Cells.Find(cell => cell.Contender == contender && cell.Row == row) is { } cell) cell.Values.Add(value);
        else Cells.Add(new Cell(contender, row, [value]));
    }

    public IReadOnlyList<double> Values(string contender, string row) =>
        Cells.Find(cell => cell.Contender == contender && cell.Row == row)?.Values ?? [];

    public double? Median(string contender, string row) => Values(contender, row) is { Count: > 0 } values
        ? Middle(values) : null;

    /// <summary>The middle value (the upper of the two middle ones for an even count).</summary>
    public static double Middle(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    /// <summary>The rows in the order they were first measured.</summary>
    public IEnumerable<string> Rows => Cells.Select(cell => cell.Row).Distinct();

    /// <summary>Redis's column, when Redis ran: the other servers' ratios are to it.</summary>
    public string? Reference => Contenders.FirstOrDefault(name => name.StartsWith("Redis"));

    /// <summary>
    /// The ratio of a server's value to Redis's, round by round: the servers alternate within a round, so a
    /// round's ratio compares two runs made a few seconds apart, and the VM's drift between rounds cancels out.
    /// </summary>
    public IReadOnlyList<double> RatiosToReference(string contender, string row)
    {
        var theirs = Reference is { } reference ? Values(reference, row) : [];
        var ours = Values(contender, row);
        return theirs.Count == ours.Count ? ours.Zip(theirs, (a, b) => a / b).ToList() : [];
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Indented));

    public static Measurements Load(string path) => JsonSerializer.Deserialize<Measurements>(File.ReadAllText(path))
        ?? throw new FormatException($"{path} holds no measurements");
}
