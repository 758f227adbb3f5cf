// src/bench/Race.cs: `dotnet bench.cs -- --race`, the lost update made visible. Every client adds 1 to one counter,
// --increments times, first as a careless program would (`get`, add one, `set`), then with `incr`; the table
// shows what should be stored, what is, and how many updates were lost.
//
// Each request is atomic under the store's lock; a get and the set after it are two requests, and between them
// another client may set the same counter: its update is then overwritten. `incr` reads, adds and writes in one
// critical section (KeyValueStore.Increment), so none is lost. docs/how-it-works.md tells the story.

using System.Net.Sockets;
using System.Text;

namespace KV;

static class Race
{
    public sealed record Outcome(string Way, long Expected, long Stored, TimeSpan Took)
    {
        public long Lost => Expected - Stored;
    }

    public static async Task<int> RunAsync(BenchOptions options)
    {
        Console.WriteLine($"race: {options.Clients} clients x {options.Increments} increments of one counter, at {options.Host}:{options.Port}");
        var outcomes = new[]
        {
            await RunAsync(options, "get then set", "race:get-set", static async (client, key) =>
            {
                var reply = await client.AskAsync($"get {key}");
                var value = long.Parse(reply["VALUE ".Length..]);
                await client.AskAsync($"set {key} {value + 1}");
            }),
            await RunAsync(options, "incr", "race:incr", static (client, key) => client.AskAsync($"incr {key}")),
        };
        Console.WriteLine($"{"",-14} {"expected",10} {"stored",10} {"lost",10} {"lost %",7} {"seconds",8}");
        foreach (var o in outcomes)
            Console.WriteLine($"{o.Way,-14} {o.Expected,10:N0} {o.Stored,10:N0} {o.Lost,10:N0} {100.0 * o.Lost / o.Expected,6:0.0}% {o.Took.TotalSeconds,8:0.00}");
        return 0;
    }

    /// <summary>The counter set to 0, then every client's increments at once; what the store holds at the end.</summary>
    private static async Task<Outcome> RunAsync(BenchOptions options, string way, string key, Func<LineClient, string, Task> increment)
    {
        var clients = new List<LineClient>();
        try
        {
            for (var i = 0; i < options.Clients; i++) clients.Add(await LineClient.ConnectAsync(options));
            await clients[0].AskAsync($"set {key} 0");
            var started = System.Diagnostics.Stopwatch.StartNew();
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var running = clients.Select(async client =>
            {
                await go.Task;
                for (var i = 0; i < options.Increments; i++) await increment(client, key);
            }).ToList();
            go.SetResult();
            await Task.WhenAll(running);
            var took = started.Elapsed;
            var stored = long.Parse((await clients[0].AskAsync($"get {key}"))["VALUE ".Length..]);
            return new(way, (long)options.Clients * options.Increments, stored, took);
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
        }
    }

    /// <summary>One connection that sends a line and reads the one-line reply: all the race needs of KV's protocol.</summary>
    private sealed class LineClient(Socket socket) : IDisposable
    {
        private readonly NetworkStream stream = new(socket, ownsSocket: true);
        private readonly StreamReader replies = new(new NetworkStream(socket, ownsSocket: false), Encoding.UTF8);

        public static async Task<LineClient> ConnectAsync(BenchOptions options) => new(await Load.ConnectAsync(options));

        /// <summary>The reply line; an ERROR (a value that is no longer a number, a full store) stops the race.</summary>
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
