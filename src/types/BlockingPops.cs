// src/types/BlockingPops.cs: feature: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX and BZMPOP: a
// client that finds nothing to pop waits until an element arrives, its timeout passes, or it leaves. The wait is a
// task, holding no thread in the pool and loops models (in the per-client model a client's own thread waits, as it
// does for everything).
//
// The waiters are a queue per key, kept under the store's lock. A waiter is added in the same step that found
// every key empty, so no push can slip between the look and the wait. The registry is a store observer: a change
// to a key someone waits on (LPUSH, RENAME, a push in EXEC or a script) schedules that key for the end of the step
// (KeyValueStore.AfterStep), so a transaction's push wakes a waiter only when it commits. Then the waiters are
// served first come, first served: each takes its element in that step, so every element goes to exactly one.
// A waiter whose time runs out or whose client leaves is taken out of every queue under the same lock.

using System.Buffers;

namespace KV;

/// <summary>One blocked client: its keys, and the step that takes what it waits for.</summary>
internal sealed class Waiter(byte[][] keys, Func<KeyValueStore, byte[], byte[]?> take)
{
    public byte[][] Keys => keys;

    /// <summary>Under the lock: takes from the key and returns the client's reply; null if the key has none.
    /// </summary>
    public Func<KeyValueStore, byte[], byte[]?> Take => take;

    public TaskCompletionSource<byte[]> Served { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public List<(byte[] Key, LinkedListNode<Waiter> Node)> Places { get; } = [];
    public bool Done { get; set; }
}

/// <summary>The clients waiting on keys, per key in the order they blocked; one registry a store.</summary>
public sealed class Waiters : IStoreObserver
{
    private readonly KeyValueStore store;
    private readonly Dictionary<byte[], LinkedList<Waiter>> byKey = new(KeyBytes.Comparer);
    private readonly HashSet<byte[]> ready = new(KeyBytes.Comparer);
    private long blocked;

    public Waiters(KeyValueStore store)
    {
        this.store = store;
        store.Observe(this);
    }

    /// <summary>The clients blocked now (`stats` and INFO's blocked_clients).</summary>
    public long Blocked => Interlocked.Read(ref blocked);

    public void Changed(ReadOnlySpan<byte> key)
    {
        if (byKey.Count == 0 || !byKey.GetAlternateLookup<ReadOnlySpan<byte>>().ContainsKey(key)) return;
        if (ready.Count == 0) store.AfterStep(ServeReady);
        ready.Add(key.ToArray());
    }

    /// <summary>A flush: each waiter on a key there now looks again when it ends (XREADGROUP's then fail).</summary>
    public void Emptying(KeyFilter exists)
    {
        foreach (var key in byKey.Keys)
            if (exists(key))
            {
                if (ready.Count == 0) store.AfterStep(ServeReady);
                ready.Add(key);
            }
    }

    /// <summary>At the end of a step that changed keys with waiters: each key's waiters served while it has some.
    /// </summary>
    private void ServeReady()
    {
        var keys = ready.ToArray();
        ready.Clear();
        foreach (var key in keys) Serve(key);
    }

    private void Serve(byte[] key)
    {
        while (byKey.TryGetValue(key, out var queue) && queue.First is { } first)
        {
            var waiter = first.Value;
            byte[]? reply;
            try
            {
                reply = waiter.Take(store, key);
            }
            catch (WrongKindException)
            {
                // The key now holds another kind: its waiters wait on, as Redis's do.
                return;
            }
            if (reply is null) return;
            Forget(waiter);
            waiter.Served.SetResult(reply);
        }
    }

    /// <summary>Under the lock: the waiter joins the end of each of its keys' queues.</summary>
    internal void Add(Waiter waiter)
    {
        foreach (var key in waiter.Keys)
        {
            if (!byKey.TryGetValue(key, out var queue)) byKey[key] = queue = new LinkedList<Waiter>();
            waiter.Places.Add((key, queue.AddLast(waiter)));
        }
        Interlocked.Increment(ref blocked);
    }

    /// <summary>Under the lock: the waiter leaves every queue; false when it was served first.</summary>
    internal bool Cancel(Waiter waiter)
    {
        if (waiter.Done) return false;
        Forget(waiter);
        return true;
    }

    private void Forget(Waiter waiter)
    {
        waiter.Done = true;
        foreach (var (key, node) in waiter.Places)
        {
            // A key named twice (BLPOP a a 0) has its node gone already.
            if (node.List is not { } queue) continue;
            queue.Remove(node);
            if (queue.Count == 0) byKey.Remove(key);
        }
        waiter.Places.Clear();
        Interlocked.Decrement(ref blocked);
    }
}

public static class BlockingPops
{
    /// <summary>What a blocked client counts against the clients' budget beyond its keys.</summary>
    private const int WaiterBytes = 256;

    /// <summary>How long a wait lasts before the server watches for the client leaving.</summary>
    private static readonly TimeSpan WatchAfter = TimeSpan.FromMilliseconds(100);

    public static RespCommand[] Rows =>
    [
        new("blpop", -3, "BLPOP key [key ...] timeout: LPOP of the first list with elements, else wait (0: forever)",
            PopOrWait) { Writes = true },
        new("brpop", -3, "BRPOP key [key ...] timeout: RPOP of the first list with elements, else wait", PopOrWait)
            { Writes = true },
        new("blmove", 6, "BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout: LMOVE, waiting for an element",
            MoveOrWait) { Writes = true },
        new("brpoplpush", 4, "BRPOPLPUSH source destination timeout: RPOPLPUSH, waiting for an element", MoveOrWait)
            { Writes = true },
        new("blmpop", -5, "BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT n]: LMPOP, waiting for elements",
            MultiPopOrWait) { Writes = true },
        new("bzpopmin", -3, "BZPOPMIN key [key ...] timeout: the lowest member of the first sorted set, else wait",
            ZPopOrWait) { Writes = true },
        new("bzpopmax", -3, "BZPOPMAX key [key ...] timeout: the highest member of the first sorted set, else wait",
            ZPopOrWait) { Writes = true },
        new("bzmpop", -5, "BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT n]: ZMPOP, waiting for members",
            ZMultiPopOrWait) { Writes = true },
    ];

    /// <summary>A reply made apart, to be handed to a waiting client.</summary>
    private static byte[] Reply<TState>(TState state, Action<IBufferWriter<byte>, TState> write)
    {
        var reply = new ArrayBufferWriter<byte>();
        write(reply, state);
        return reply.WrittenSpan.ToArray();
    }

    /// <summary>A timeout as Redis reads one: seconds, a float, not negative; null (error written) otherwise.</summary>
    private static TimeSpan? Timeout(RespArguments args, int index, IBufferWriter<byte> output)
    {
        if (!TypeCommands.TryDouble(args[index], out var seconds) || double.IsInfinity(seconds)
            || seconds > int.MaxValue)
        {
            RespReply.Error(output, "timeout is not a float or out of range");
            return null;
        }
        if (seconds < 0)
        {
            RespReply.Error(output, "timeout is negative");
            return null;
        }
        return seconds == 0 ? System.Threading.Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(seconds);
    }

    private static byte[][] Keys(RespArguments args, int from, int count) =>
        [.. Enumerable.Range(from, count).Select(i => args[i].ToArray())];

    private static void PopOrWait(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (Timeout(args, args.Count - 1, output) is not { } timeout) return;
        var left = args.Is(0, "blpop"u8);
        Block(session, Keys(args, 1, args.Count - 2), timeout, output, NullArray(session), (store, key) =>
        {
            if (ListCommands.TakeOne(store, key, left) is not { } element) return null;
            return Reply((key, element), static (w, s) =>
            {
                RespReply.ArrayHeader(w, 2);
                RespReply.Bulk(w, s.key);
                RespReply.Bulk(w, s.element);
            });
        });
    }

    private static void MoveOrWait(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        bool fromLeft = false, toLeft = true;
        if (args.Count == 6)
        {
            if (ListCommands.Side(args, 3, output) is not { } from || ListCommands.Side(args, 4, output) is not { } to)
                return;
            (fromLeft, toLeft) = (from, to);
        }
        if (Timeout(args, args.Count - 1, output) is not { } timeout) return;
        var destination = args[2].ToArray();
        Block(session, [args[1].ToArray()], timeout, output, NullBulk(session), (store, key) =>
        {
            // A destination of another kind: WRONGTYPE when there is an element to move, as Redis answers it.
            if (store.KindOf(destination) is { } kind && kind != "list" && store.Find<ListValue>(key) is not null)
                return Reply(0, static (w, _) => RespReply.Error(w, WrongKindException.RedisMessage, "WRONGTYPE"));
            var moved = ListCommands.MoveOne(store, key, destination, fromLeft, toLeft, out var error);
            if (error is not null) return Reply(error, static (w, e) => TypeCommands.Refuse(w, e));
            return moved is null ? null : Reply(moved, static (w, m) => RespReply.Bulk(w, m));
        });
    }

    /// <summary>LMPOP's and BLMPOP's arguments from `at` (numkeys): the keys, LEFT or RIGHT, the count.</summary>
    public static (byte[][] Keys, bool Left, long Count)? ReadMultiPop(RespArguments args, int at,
        IBufferWriter<byte> output) => TypeCommands.ReadMultiPop(args, at, output, "left"u8, "right"u8);

    private static void MultiPopOrWait(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (Timeout(args, 1, output) is not { } timeout) return;
        if (ReadMultiPop(args, 2, output) is not var (keys, left, count)) return;
        var protocol = session.Protocol;
        Block(session, keys, timeout, output, NullArray(session), (store, key) =>
        {
            var reply = new ArrayBufferWriter<byte>();
            return ListCommands.PopFirst(store, [key], left, count, protocol, reply) ? reply.WrittenSpan.ToArray()
                : null;
        });
    }

    private static void ZMultiPopOrWait(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (Timeout(args, 1, output) is not { } timeout) return;
        if (SortedSetCommands.ReadMultiPop(args, 2, output) is not var (keys, lowest, count)) return;
        var protocol = session.Protocol;
        Block(session, keys, timeout, output, NullArray(session), (store, key) =>
        {
            var reply = new ArrayBufferWriter<byte>();
            return SortedSetCommands.PopFirst(store, [key], lowest, count, protocol, reply)
                ? reply.WrittenSpan.ToArray() : null;
        });
    }

    private static void ZPopOrWait(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (Timeout(args, args.Count - 1, output) is not { } timeout) return;
        var lowest = args.Is(0, "bzpopmin"u8);
        var protocol = session.Protocol;
        Block(session, Keys(args, 1, args.Count - 2), timeout, output, NullArray(session), (store, key) =>
        {
            if (store.Find<SortedSetValue>(key, forChange: true) is not { } set) return null;
            var (member, score) = set.PopEnd(lowest);
            TypeCommands.Changed(store, key, set, set.Count == 0, lowest ? "zpopmin" : "zpopmax");
            return Reply((key, member, score, protocol), static (w, s) =>
            {
                RespReply.ArrayHeader(w, 3);
                RespReply.Bulk(w, s.key);
                RespReply.Bulk(w, s.member);
                TypeCommands.Score(w, s.score, s.protocol);
            });
        });
    }

    private static Action<IBufferWriter<byte>> NullArray(RespSession session) =>
        output => RespReply.NullArray(output, session.Protocol);

    private static Action<IBufferWriter<byte>> NullBulk(RespSession session) =>
        output => RespReply.Null(output, session.Protocol);

    /// <summary>
    /// The blocking commands' one shape, in either protocol: in one step, the first key with something takes it and
    /// answers at once; else, inside EXEC or a script, the answer is `none` at once; else the client waits (a
    /// deferred reply) and gets `none` when its time runs out.
    /// </summary>
    public static void Block(ClientSession session, byte[][] keys, TimeSpan timeout, IBufferWriter<byte> output,
        Action<IBufferWriter<byte>> none, Func<KeyValueStore, byte[], byte[]?> take)
    {
        var store = session.Store;
        var waiters = session.Activity.Feature(_ => new Waiters(store));
        var unblocked = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var (now, blocked) = store.Atomically((store, keys, take, session, waiters, unblocked), static step =>
            TakeOrJoin(step.store, step.keys, step.take, step.session, step.waiters, step.unblocked));
        if (now is not null) output.Write(now);
        else if (blocked is null) none(output);
        else session.Deferred = context => WaitAsync(context, session, waiters, blocked, unblocked, timeout, none);
    }

    /// <summary>In one step: the reply of the first key that has something, or a waiter added on every key (none
    /// inside another's step, where nothing may wait).</summary>
    private static (byte[]? Reply, Waiter? Waiter) TakeOrJoin(KeyValueStore store, byte[][] keys,
        Func<KeyValueStore, byte[], byte[]?> take, ClientSession session, Waiters waiters,
        TaskCompletionSource<bool> unblocked)
    {
        foreach (var key in keys)
            if (take(store, key) is { } reply) return (reply, null);
        if (session.InStep) return (null, null);
        var waiter = new Waiter(keys, take);
        // Before it counts as blocked: whoever sees it blocked (INFO) can unblock it (CLIENT UNBLOCK), even before
        // its wait has started on its own thread.
        session.Unblock = error => unblocked.TrySetResult(error);
        waiters.Add(waiter);
        return (null, waiter);
    }

    private static async ValueTask<string?> WaitAsync(IReplyContext context, ClientSession session, Waiters waiters,
        Waiter waiter, TaskCompletionSource<bool> unblocked, TimeSpan timeout, Action<IBufferWriter<byte>> none)
    {
        var store = session.Store;
        var reserved = WaiterBytes + waiter.Keys.Sum(k => (long)k.Length);
        var counted = context.TryReserve(reserved);
        string? ending = null;
        try
        {
            await context.FlushAsync();
            using var timer = new CancellationTokenSource();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.Cancellation, timer.Token);
            if (timeout != System.Threading.Timeout.InfiniteTimeSpan) timer.CancelAfter(timeout);
            var ended = Task.Delay(System.Threading.Timeout.Infinite, stop.Token);
            // Most waits end within moments (a queue that is rarely empty): the watch for a client that leaves, a read
            // on its socket that costs more than the wait itself, starts only once the wait has lasted a while.
            var spoke = counted ? Task.Delay(WatchAfter, stop.Token) : Task.CompletedTask;
            var watching = !counted;
            while (!waiter.Served.Task.IsCompleted)
            {
                var first = await Task.WhenAny(waiter.Served.Task, ended, spoke, unblocked.Task);
                if (first == unblocked.Task) break;
                if (first == spoke && !watching && !ended.IsCompleted)
                {
                    watching = true;
                    spoke = context.ClientSpeaksAsync();
                }
                else if (first == spoke && !waiter.Served.Task.IsCompleted)
                {
                    // It left, or (past the budget) may not wait; a client that sent more waits on.
                    if (!counted || context.ClientLeft)
                    {
                        ending = counted ? "client left while blocked" : null;
                        break;
                    }
                    spoke = Task.Delay(System.Threading.Timeout.Infinite, stop.Token);
                }
                else if (first == ended) break;
            }
        }
        catch (OperationCanceledException) { }
        finally
        {
            session.Unblock = null;
            if (counted) context.Unreserve(reserved);
        }
        if (store.Atomically((waiters, waiter), static s => s.waiters.Cancel(s.waiter)))
        {
            if (!counted) context.WriteError("blocked clients past the clients' memory budget");
            else if (unblocked.Task is { IsCompleted: true, Result: true })
                RespReply.Error(context.Output, "client unblocked via CLIENT UNBLOCK", prefix: "UNBLOCKED");
            else none(context.Output);
            return ending;
        }
        context.Output.Write(await waiter.Served.Task);
        return ending;
    }
}
