// src/bench/ModelsCharts.cs: `--models --svg DIR` (or `--report FILE --svg DIR`), the table's pictures, drawn by
// ScottPlot: ops/s and p99 against the number of clients, a line a server with its rounds' lowest and highest as
// bars, and the memory an idle connection costs. The clients are evenly spaced on the axis (1, 10, 50, 200,
// 1,000), so that one client and a thousand are both readable. Only bench.cs draws, so only it restores ScottPlot.

#:package ScottPlot@5.1.59

using System.Text.RegularExpressions;
using ScottPlot;

namespace KV;

static class ModelsCharts
{
    private const int Width = 720, Height = 420;

    /// <summary>Writes the charts into `directory`; returns the files written.</summary>
    public static List<string> Write(Measurements run, string directory)
    {
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        void Save(Plot? plot, string name)
        {
            if (plot is null) return;
            var path = Path.Combine(directory, name);
            plot.SaveSvg(path, Width, Height);
            written.Add(path);
        }
        Save(AgainstClients(run, "ops/s", "requests answered a second", logarithmic: false), "models-throughput.svg");
        Save(AgainstClients(run, "p99", "p99 latency, ms (logarithmic)", logarithmic: true), "models-p99.svg");
        Save(IdleMemory(run), "models-idle-memory.svg");
        return written;
    }

    /// <summary>
    /// The sweep's rows ("N clients, pinned: measure", or unpinned on one core) as a line a server; null when the
    /// run had no sweep. A logarithmic axis (latency) shows one client's tenth of a millisecond beside a thousand
    /// clients' second.
    /// </summary>
    private static Plot? AgainstClients(Measurements run, string measure, string axis, bool logarithmic)
    {
        double Y(double value) => logarithmic ? Math.Log10(value) : value;
        var sweep = run.Rows
            .Select(row => (Row: row,
                Match: Regex.Match(row, $@"^([\d,]+) clients?, pinned: {Regex.Escape(measure)}$")))
            .Where(pair => pair.Match.Success)
            .Select(pair => (pair.Row, Clients: int.Parse(pair.Match.Groups[1].Value.Replace(",", ""))))
            .OrderBy(pair => pair.Clients).ToList();
        if (sweep.Count < 2) return null;
        var plot = new Plot();
        double[] positions = [.. Enumerable.Range(0, sweep.Count).Select(i => (double)i)];
        foreach (var name in run.Contenders)
        {
            var values = sweep.Select(point => run.Values(name, point.Row).Select(Y).ToList()).ToList();
            if (values.Any(v => v.Count == 0)) continue;
            double[] medians = [.. values.Select(Measurements.Middle)];
            var line = plot.Add.Scatter(positions, medians);
            line.LegendText = name;
            double[] none = new double[positions.Length];
            var spread = new ScottPlot.Plottables.ErrorBar(positions, medians, none, none,
                yErrorsPositive: [.. values.Select((v, i) => v.Max() - medians[i])],
                yErrorsNegative: [.. values.Select((v, i) => medians[i] - v.Min())]) { Color = line.Color };
            plot.Add.Plottable(spread);
        }
        plot.Axes.Bottom.SetTicks(positions, [.. sweep.Select(point => $"{point.Clients:N0}")]);
        plot.Axes.Bottom.Label.Text = "clients (server pinned to one core, the load to another)";
        plot.Axes.Left.Label.Text = axis;
        Caption(plot, run);
        plot.Axes.AutoScale();
        var limits = plot.Axes.GetLimits();
        if (logarithmic)
        {
            double[] decades = [.. Enumerable.Range((int)Math.Floor(limits.Bottom), (int)Math.Ceiling(limits.Top)
                - (int)Math.Floor(limits.Bottom) + 1).Select(d => (double)d)];
            plot.Axes.Left.SetTicks(decades, [.. decades.Select(d => $"{Math.Pow(10, d):0.###}")]);
        }
        else
        {
            plot.Axes.SetLimitsY(0, limits.Top);
        }
        return plot;
    }

    private static Plot? IdleMemory(Measurements run)
    {
        if (run.Rows.FirstOrDefault(row => row.EndsWith(" idle connections: KB each")) is not { } row) return null;
        var plot = new Plot();
        var names = run.Contenders.Where(name => run.Values(name, row).Count > 0).ToList();
        for (var i = 0; i < names.Count; i++)
        {
            var values = run.Values(names[i], row);
            var median = Measurements.Middle(values);
            var bar = new Bar
            {
                Position = i, Value = median, ValueBase = 0, Label = $"{median:0.0} KB",
                Error = (values.Max() - values.Min()) / 2, FillColor = plot.Add.Palette.GetColor(i),
            };
            plot.Add.Bars(new[] { bar });
        }
        plot.Axes.Bottom.SetTicks([.. names.Select((_, i) => (double)i)], [.. names]);
        plot.Axes.Left.Label.Text = $"KB each, {row.Split(':')[0]}";
        plot.Axes.Margins(bottom: 0);
        Caption(plot, run);
        return plot;
    }

    private static void Caption(Plot plot, Measurements run)
    {
        plot.Font.Set("DejaVu Sans");
        plot.Title($"median of {run.Rounds} round(s), lowest to highest; {run.Date}", size: 12);
        if (plot.GetPlottables().OfType<ScottPlot.Plottables.Scatter>().Any()) plot.ShowLegend(Edge.Right);
    }
}
