// tests/Harness.Interleavings.cs: a deterministic scheduler that explores every order of the steps where threads
// meet. The code under test names its step points (IStepPoints.Reach, as ConversationClaim does); the scheduler runs
// one thread at a time and, at each point, chooses which thread goes on. Replaying the choices of one run with the
// last one changed gives the next order (a depth-first search), until every order has run and been checked.
//
// Microsoft.Coyote does this without named points, by rewriting the compiled assembly; a file-based test program
// is built by `dotnet tests.cs` itself, with no step at which to rewrite it, so KV names its points instead.

using Xunit;

public sealed class Interleavings : KV.IStepPoints
{
    private readonly SemaphoreSlim[] turn;
    private readonly SemaphoreSlim stepped = new(0);
    private readonly ThreadLocal<int> current = new(() => -1);
    private readonly List<string> trace = [];

    private Interleavings(int threads) => turn = [.. Enumerable.Range(0, threads).Select(_ => new SemaphoreSlim(0))];

    /// <summary>A thread this scheduler runs stops here until it is chosen again; any other goes straight on.</summary>
    public void Reach(string point)
    {
        var me = current.Value;
        if (me < 0) return;
        trace.Add($"{me}: {point}");
        stepped.Release();
        turn[me].Wait();
    }

    /// <summary>
    /// Runs the scenario in every order of its threads' steps: `scenario` makes fresh state and its threads for a
    /// scheduler, and a check that runs when they have all finished (it throws to fail). How many orders there were.
    /// </summary>
    public static int Explore(int threads, Func<Interleavings, (Action[] Threads, Action Check)> scenario,
        int limit = 100_000)
    {
        var replay = new List<int>();
        for (var orders = 1; ; orders++)
        {
            var scheduler = new Interleavings(threads);
            var (bodies, check) = scenario(scheduler);
            var choices = scheduler.Run(bodies, replay);
            try
            {
                check();
            }
            catch (Exception e)
            {
                var steps = string.Join("\n  ", scheduler.trace);
                throw new Xunit.Sdk.XunitException($"order {orders} broke it:\n  {steps}\n{e.Message}");
            }
            // The next order: the last choice that had an untried alternative, taken the other way.
            var last = choices.FindLastIndex(c => c.Chosen != c.Ready[^1]);
            if (last < 0) return orders;
            Assert.True(orders < limit, $"more than {limit} orders");
            var (ready, chosen) = choices[last];
            replay = [.. choices.Take(last).Select(c => c.Chosen), ready[Array.IndexOf(ready, chosen) + 1]];
        }
    }

    /// <summary>One order: the first choices replayed, then always the first thread ready; the choices made.</summary>
    private List<(int[] Ready, int Chosen)> Run(Action[] bodies, List<int> replay)
    {
        var finished = new bool[bodies.Length];
        Exception? failure = null;
        var running = bodies.Select((body, id) => Workers.Run(() =>
        {
            current.Value = id;
            turn[id].Wait();
            try
            {
                body();
            }
            catch (Exception e)
            {
                failure ??= e;
            }
            finally
            {
                current.Value = -1;
            }
            finished[id] = true;
            trace.Add($"{id}: done");
            stepped.Release();
        })).ToArray();
        var choices = new List<(int[] Ready, int Chosen)>();
        while (Enumerable.Range(0, bodies.Length).Where(id => !finished[id]).ToArray() is { Length: > 0 } ready)
        {
            var chosen = choices.Count < replay.Count ? replay[choices.Count] : ready[0];
            choices.Add((ready, chosen));
            turn[chosen].Release();
            // A thread that blocks anywhere but at a step point would hang the search: that is a failure of its own.
            Assert.True(stepped.Wait(Programs.Patience), $"thread {chosen} blocked between two step points");
        }
        Task.WaitAll(running);
        if (failure is not null) throw failure;
        return choices;
    }

    /// <summary>
    /// The threads the scenarios run on, kept from one order to the next (a new thread for each order would cost more
    /// than the order), and never the pool's, which the other tests share: one more is started whenever none is idle.
    /// </summary>
    private static class Workers
    {
        private static readonly System.Collections.Concurrent.BlockingCollection<Action> Jobs = [];
        private static int idle;

        public static Task Run(Action job)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (Interlocked.Decrement(ref idle) < 0)
            {
                Interlocked.Increment(ref idle);
                new Thread(Work) { IsBackground = true, Name = "interleavings" }.Start();
            }
            Jobs.Add(() =>
            {
                job();
                done.SetResult();
            });
            return done.Task;
        }

        private static void Work()
        {
            foreach (var job in Jobs.GetConsumingEnumerable())
            {
                job();
                Interlocked.Increment(ref idle);
            }
        }
    }
}
