// src/bench/Timeline.cs: `--race --svg FILE`, the lost update as a picture. A row per client, each operation a bar
// from the moment its request was sent to the moment its reply came; the two operations of the lost update in red.
// Two bars that overlap could have happened in either order; two red bars that overlap and wrote the same number
// show the race: both read the same value, so one of the two increments vanished.
//
// The SVG is built with System.Xml.Linq, which escapes what it writes.

using System.Diagnostics;
using System.Globalization;
using System.Xml.Linq;

namespace KV;

static class Timeline
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    private const int Width = 960, Left = 90, Right = 20, Top = 56, Row = 26, MaxRows = 14;

    /// <summary>
    /// The operations around `lost` (the two that both wrote the same value), drawn on one time axis. `describe`
    /// labels a bar (what the operation wrote), `describeLost` the two red ones.
    /// </summary>
    public static XDocument Draw(IReadOnlyList<Operation> history, (Operation First, Operation Second) lost,
        string title, string caption, Func<Operation, string> describe, Func<Operation, string> describeLost)
    {
        var (first, second) = lost;
        var span = Math.Max(first.Return - first.Call, second.Return - second.Call);
        var from = Math.Min(first.Call, second.Call) - span;
        var until = Math.Max(first.Return, second.Return) + span;
        var shown = history.Where(o => o.Call < until && o.Return > from).ToList();
        var clients = new[] { first.Client, second.Client }
            .Concat(shown.Select(o => o.Client).Distinct().Order().Where(c => c != first.Client && c != second.Client))
            .Take(MaxRows).Order().ToList();
        double X(long ticks) =>
            Left + (Width - Left - Right) * (double)(Math.Clamp(ticks, from, until) - from) / (until - from);
        static string N(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);
        var height = Top + Row * clients.Count + 60;

        var body = new List<XElement>
        {
            new(Svg + "rect", new XAttribute("width", Width), new XAttribute("height", height),
                new XAttribute("fill", "white")),
            Text(Left, 22, title, 15, "bold"),
        };
        for (var tick = 0; tick <= 4; tick++)
        {
            var at = from + (until - from) * tick / 4;
            var x = N(X(at));
            body.Add(new XElement(Svg + "line", new XAttribute("x1", x), new XAttribute("x2", x),
                new XAttribute("y1", Top - 8), new XAttribute("y2", Top + Row * clients.Count),
                new XAttribute("stroke", "#ddd")));
            body.Add(Text(X(at), Top - 12, $"{(at - from) * 1_000_000.0 / Stopwatch.Frequency:0} µs", 11,
                anchor: tick == 0 ? "start" : tick == 4 ? "end" : "middle"));
        }
        foreach (var (client, row) in clients.Select((client, row) => (client, row)))
        {
            var y = Top + Row * row;
            body.Add(Text(Left - 8, y + 16, $"client {client}", 12, anchor: "end"));
            foreach (var operation in shown.Where(o => o.Client == client))
            {
                var marked = operation == first || operation == second;
                var x = X(operation.Call);
                var width = Math.Max(2, X(operation.Return) - x);
                body.Add(new XElement(Svg + "rect", new XAttribute("x", N(x)), new XAttribute("y", y + 3),
                    new XAttribute("width", N(width)), new XAttribute("height", Row - 8), new XAttribute("rx", 3),
                    new XAttribute("fill", marked ? "#d62728" : "#c7c7c7")));
                if (width > 40 || marked)
                    body.Add(Text(x + width / 2, y + 17, marked ? describeLost(operation) : describe(operation), 11,
                        marked ? "bold" : "normal", "middle", marked ? "white" : "#333"));
            }
        }
        body.Add(Text(Left, Top + Row * clients.Count + 28, caption, 13));
        return new XDocument(new XElement(Svg + "svg", new XAttribute("width", Width), new XAttribute("height", height),
            new XAttribute("viewBox", $"0 0 {Width} {height}"), new XAttribute("font-family", "sans-serif"), body));
    }

    private static XElement Text(double x, double y, string text, int size, string weight = "normal",
        string anchor = "start", string fill = "#111") =>
        new(Svg + "text", new XAttribute("x", x.ToString("0.#", CultureInfo.InvariantCulture)),
            new XAttribute("y", y.ToString("0.#", CultureInfo.InvariantCulture)), new XAttribute("font-size", size),
            new XAttribute("font-weight", weight), new XAttribute("text-anchor", anchor), new XAttribute("fill", fill),
            text);
}
