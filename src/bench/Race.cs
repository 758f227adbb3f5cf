// src/bench/Race.cs: `dotnet bench.cs -- --race`, the lost update made visible. Every client adds 1 to one counter,
// --increments times, first as a careless program would (`get`, add one, `set`), then with `incr`; the table
// shows what should be stored, what is, how many updates were lost, and the linearizability checker's verdict.
//
// Each request is atomic under the store's lock; a get and the set after it are two requests, and between them
// another client may set the same counter: its update is then overwritten. `incr` reads, adds and writes in one
// critical section (KeyValueStore.Increment), so none is lost. Every increment is recorded as one operation (from
// the get's sending to the set's reply, or the incr's), with the value it wrote, and the checker (src/checking)
// judges the history: an increment is linearizable only if some order of them, one at a time, writes 1, 2, 3...
// The first two that overlap and wrote the same number are the lost update it names (and --svg draws).
// docs/race-conditions.md tells the story.

using System.Net.Sockets;
using System.Text;

namespace KV;

static class Race
{
    public sealed record Outcome(string Way, long Expected, long Stored, TimeSpan Took,
        IReadOnlyList<Operation> History, Verdict Verdict)
    {
        public long Lost => Expected - Stored;

        /// <summary>
        /// Two increments, by different clients, that overlap in time and wrote the same number: the first such pair
        /// after the run's first tenth, when every client is up to speed (or the first at all).
        /// </summary>
        public (Operation First, Operation Second)? LostUpdate
        {
            get
            {
                var pairs = History.Where(o => o.Output is not null).GroupBy(o => o.Output)
                    .SelectMany(same => same.SelectMany(a => same
                        .Where(b => b.Client > a.Client && a.Call < b.Return && b.Call < a.Return)
                        .Select(b => (First: a, Second: b))))
                    .OrderBy(pair => Math.Min(pair.First.Call, pair.Second.Call))
                    .ToList();
                if (pairs.Count == 0) return null;
                var answered = pairs.SelectMany(pair => new[] { pair.First, pair.Second }).ToList();
                var warm = History.Min(o => o.Call) + (answered.Max(o => o.Return) - History.Min(o => o.Call)) / 10;
                var later = pairs.FindIndex(pair => pair.First.Call > warm);
                return pairs[Math.Max(0, later)];
            }
        }
    }

    public static async Task<int> RunAsync(BenchOptions options)
    {
        Console.WriteLine($"race: {options.Clients} clients x {options.Increments} increments of one counter, " +
            $"at {options.Host}:{options.Port}");
        var outcomes = new[]
        {
            await RunAsync(options, "get then set", "race:get-set", static async (client, key) =>
            {
                var reply = await client.AskAsync($"get {key}");
                var value = long.Parse(reply["VALUE ".Length..]);
                await client.AskAsync($"set {key} {value + 1}");
                return value + 1;
            }),
            await RunAsync(options, "incr", "race:incr", static async (client, key) =>
                long.Parse((await client.AskAsync($"incr {key}"))["VALUE ".Length..])),
        };
        Console.WriteLine($"{"",-14} {"expected",10} {"stored",10} {"lost",10} {"lost %",7} {"seconds",8}  verdict");
        foreach (var o in outcomes)
            Console.WriteLine($"{o.Way,-14} {o.Expected,10:N0} {o.Stored,10:N0} {o.Lost,10:N0} " +
                $"{100.0 * o.Lost / o.Expected,6:0.0}% {o.Took.TotalSeconds,8:0.00}  {Words(o)}");
        var judged = outcomes.Where(o => !o.Verdict.Linearizable && (!o.Verdict.TimedOut || o.LostUpdate is not null));
        foreach (var o in judged)
        {
            if (o.LostUpdate is var (first, second))
                Console.WriteLine($"{o.Way}: the lost update it found: clients {first.Client} and {second.Client} " +
                    $"both read {long.Parse(first.Output!) - 1} and both wrote {first.Output}, at once:\n" +
                    $"{Line(first)}\n{Line(second)}");
            else Console.WriteLine($"{o.Way}: {o.Verdict.Explain()}");
        }
        if (options.Svg is { } file) WritePicture(file, outcomes);
        return 0;
    }

    /// <summary>One increment as a line: the client, what it read and wrote, and when (ms since recording began).
    /// </summary>
    private static string Line(Operation operation) =>
        $"  client {operation.Client,3}: read {long.Parse(operation.Output!) - 1}, wrote {operation.Output}   " +
        $"[{Operation.Milliseconds(operation.Call):0.000} .. {Operation.Milliseconds(operation.Return):0.000} ms]";

    /// <summary>
    /// The checker's verdict in words. When its search runs out of time (a store without its lock, with requests whose
    /// fate is unknown) but two increments wrote the same number, that alone settles it: no order of increments, one
    /// at a time, writes a number twice.
    /// </summary>
    private static string Words(Outcome outcome) => outcome.Verdict switch
    {
        { TimedOut: true } when outcome.LostUpdate is not null => "not linearizable (a number written twice)",
        { TimedOut: true } => "unknown (the checker ran out of time)",
        { Linearizable: true } => "linearizable",
        _ => "not linearizable",
    };

    /// <summary>
    /// Each lost update found as a timeline: get then set's in FILE; incr's (only a store without its lock loses one)
    /// beside it, in FILE with "-incr" before its extension.
    /// </summary>
    private static void WritePicture(string file, Outcome[] outcomes)
    {
        var drawn = false;
        foreach (var (outcome, index) in outcomes.Select((outcome, index) => (outcome, index)))
        {
            if (outcome.LostUpdate is not var (first, second)) continue;
            var path = index == 0 ? file : Path.ChangeExtension(file, null) + "-incr" + Path.GetExtension(file);
            var caption = $"Clients {first.Client} and {second.Client} both read {long.Parse(first.Output!) - 1} " +
                $"and both wrote {first.Output}: one of the two increments is lost.";
            var title = $"{outcome.Way}: each bar is one increment, from request to reply";
            Timeline.Draw(outcome.History, (first, second), title,
                caption, operation => $"wrote {operation.Output}",
                operation => $"read {long.Parse(operation.Output!) - 1}, wrote {operation.Output}").Save(path);
            Console.WriteLine($"{outcome.Way}: the lost update drawn in {path}");
            drawn = true;
        }
        if (!drawn) Console.WriteLine($"no lost update to draw: {file} not written");
    }

    /// <summary>The counter set to 0, then every client's increments at once: what is stored at the end, the history.
    /// </summary>
    private static async Task<Outcome> RunAsync(BenchOptions options, string way, string key,
        Func<LineClient, string, Task<long>> increment)
    {
        var clients = new List<LineClient>();
        try
        {
            for (var i = 0; i < options.Clients; i++) clients.Add(await LineClient.ConnectAsync(options));
            await clients[0].AskAsync($"set {key} 0");
            var history = new Recording();
            var started = System.Diagnostics.Stopwatch.StartNew();
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var failures = 0;
            var running = clients.Select(async (_, id) =>
            {
                await go.Task;
                var connection = id + 1; // the number its increments are recorded under: a new one after a reconnect
                for (var i = 0; i < options.Increments; i++)
                {
                    var call = Recording.Now;
                    try
                    {
                        var wrote = await increment(clients[id], key);
                        history.Add(connection, call, Command.Of("incr", key), wrote.ToString());
                    }
                    catch (Exception e) when (e is IOException or FormatException or SocketException)
                    {
                        // Only a store without its lock (--unsafe-no-lock) fails here: a value torn by two writers, or
                        // a table so damaged that the server closed the connection. The increment's fate is unknown.
                        if (Interlocked.Increment(ref failures) == 1) Console.WriteLine($"{way}: {e.Message}");
                        history.Add(connection, call, Command.Of("incr", key), null);
                        clients[id].Dispose();
                        clients[id] = await LineClient.ConnectAsync(options);
                        connection += options.Clients;
                    }
                }
            }).ToList();
            go.SetResult();
            await Task.WhenAll(running);
            var took = started.Elapsed;
            var stored = await ReadCounterAsync(options, key);
            if (failures > 0) Console.WriteLine($"{way}: {failures} increments failed (did they happen? unknown)");
            var verdict = Linearizability.Check(history.Operations, TimeSpan.FromSeconds(20));
            return new(way, (long)options.Clients * options.Increments, stored, took, history.Operations, verdict);
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
        }
    }

    /// <summary>
    /// What the counter holds at the end, over a new connection. A store without its lock may have torn the counter (a
    /// value that is no number, or a pair the server can no longer read): then 0, and the table says so.
    /// </summary>
    private static async Task<long> ReadCounterAsync(BenchOptions options, string key)
    {
        try
        {
            using var reader = await LineClient.ConnectAsync(options);
            return long.TryParse((await reader.AskAsync($"get {key}"))["VALUE ".Length..], out var stored) ? stored : 0;
        }
        catch (IOException e)
        {
            Console.WriteLine($"the counter {key} cannot be read back: {e.Message}");
            return 0;
        }
    }

    /// <summary>One connection that sends a line and reads the one-line reply: all the race needs of KV's protocol.
    /// </summary>
    private sealed class LineClient(Socket socket) : IDisposable
    {
        private readonly NetworkStream stream = new(socket, ownsSocket: true);
        private readonly StreamReader replies = new(new NetworkStream(socket, ownsSocket: false), Encoding.UTF8);

        public static async Task<LineClient> ConnectAsync(BenchOptions options) =>
            new(await Load.ConnectAsync(options));

        /// <summary>The reply line; an ERROR (a value that is no longer a number, a full store) is an IOException.
        /// </summary>
        public async Task<string> AskAsync(string request)
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(request + "\n"));
            var reply = await replies.ReadLineAsync() ?? throw new IOException("the server closed the connection");
            return reply.StartsWith("ERROR: ", StringComparison.Ordinal) ? throw new IOException(reply) : reply;
        }

        public void Dispose()
        {
            replies.Dispose();
            stream.Dispose();
        }
    }
}
