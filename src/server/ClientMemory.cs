// src/server/ClientMemory.cs: one budget for the memory all clients make the server hold together: the bytes of
// requests not yet finished and of replies not yet sent, and the keys a listing gathers before it is sent
// (--max-client-memory). Each limit per connection bounds one client; this bounds them all, so that thousands
// of clients with a half-sent megabyte each cannot take the machine's memory.
//
// Two ways in. What a read has already brought in (Hold) is counted, and when it takes the total past the
// budget, the connection holding the most is closed with an ERROR, as Redis 7's client eviction does: the
// others are served, and the store loses nothing. What a command is about to make (TryReserve: a listing's
// keys) is asked for first, and refused when it would not fit, so that nobody is closed for it.
//
// Every thread that serves a client meets the others here. An account's bytes change only under its own lock; the
// steps between its locks (choosing the largest, telling an evicted owner) are named step points, where the
// interleaving tests' scheduler (tests/Harness.Interleavings.cs) switches threads. No point is inside a lock, so a
// thread the scheduler holds never holds a lock another one waits for.

namespace KV;

/// <param name="limit">The budget in bytes; 0 is unlimited.</param>
/// <param name="steps">A test's scheduler; the server passes none.</param>
public sealed class ClientMemoryBudget(long limit, IStepPoints? steps = null)
{
    private readonly Lock accountsGate = new();
    private readonly HashSet<ClientMemoryAccount> accounts = [];
    private long total, evictions;

    public long Limit => limit;

    /// <summary>A step point, outside every lock (the server has none).</summary>
    internal void Step(string point) => steps?.Reach(point);
    public long Total => Volatile.Read(ref total);

    /// <summary>How many connections the budget has closed.</summary>
    public long Evictions => Volatile.Read(ref evictions);

    /// <summary>An account for one connection; `owner` is told when the budget closes it.</summary>
    public ClientMemoryAccount Open(IEvictable owner)
    {
        var account = new ClientMemoryAccount(this, owner);
        lock (accountsGate) accounts.Add(account);
        return account;
    }

    /// <summary>
    /// Adds to the total; true when the budget is now passed (the caller evicts, outside its own lock).
    /// </summary>
    internal bool Add(long delta)
    {
        var now = Interlocked.Add(ref total, delta);
        return delta > 0 && limit > 0 && now > limit;
    }

    /// <summary>Adds `bytes` only if the total stays within the budget.</summary>
    internal bool TryAdd(long bytes)
    {
        if (limit == 0)
        {
            Interlocked.Add(ref total, bytes);
            return true;
        }
        var seen = Volatile.Read(ref total);
        while (true)
        {
            if (seen + bytes > limit) return false;
            var was = Interlocked.CompareExchange(ref total, seen + bytes, seen);
            if (was == seen) return true;
            seen = was;
        }
    }

    internal void CountEviction() => Interlocked.Increment(ref evictions);

    internal void Close(ClientMemoryAccount account)
    {
        lock (accountsGate) accounts.Remove(account);
    }

    /// <summary>
    /// O(clients), and only when the budget is passed. The evicted stop counting at once: their memory goes when their
    /// conversation ends.
    /// </summary>
    internal void EvictLargest()
    {
        ClientMemoryAccount? largest;
        Step("choose the largest");
        lock (accountsGate) largest = accounts.Where(a => a.EvictionReason is null).MaxBy(a => a.Held);
        Step("evict it");
        largest?.Evict(Errors.ClientMemory(Total));
    }
}

/// <summary>What a connection does when the budget closes it: send the reason as its last word, and end.</summary>
public interface IEvictable
{
    void Evict(string reason);
}

/// <summary>
/// What one connection holds, opened by its Conversation the first time it holds more than the block it is
/// served from. Its bytes change only under its own lock, which eviction takes too: an update that races an
/// eviction cannot put bytes back on an account the budget has already emptied.
/// </summary>
public sealed class ClientMemoryAccount : IDisposable
{
    private readonly Lock gate = new();
    private readonly ClientMemoryBudget budget;
    private readonly IEvictable owner;
    private long held, reserved;
    private bool closed;

    internal ClientMemoryAccount(ClientMemoryBudget budget, IEvictable owner)
    {
        this.budget = budget;
        this.owner = owner;
    }

    /// <summary>What it holds: its buffers and its reservations.</summary>
    public long Held => Volatile.Read(ref held) + Volatile.Read(ref reserved);

    /// <summary>Why the budget closed this connection; null while it has not.</summary>
    public string? EvictionReason { get; private set; }

    /// <summary>
    /// This connection's buffers now hold `bytes`. May close the connection that holds the most: perhaps this one.
    /// </summary>
    public void Hold(long bytes)
    {
        bool passed;
        budget.Step("hold");
        lock (gate)
        {
            if (closed || EvictionReason is not null || bytes == held) return;
            passed = budget.Add(bytes - held);
            Volatile.Write(ref held, bytes);
        }
        if (passed) budget.EvictLargest();
    }

    /// <summary>
    /// Counts `bytes` more that a command is about to make, if the budget has room for them; nobody is evicted for it,
    /// unless `makeRoom`: then a full budget closes the connection holding the most first (perhaps this one), so that
    /// many clients that do not read (subscribers) cannot leave no room for those that do.
    /// </summary>
    public bool TryReserve(long bytes, bool makeRoom = false)
    {
        if (TryReserveOnce(bytes)) return true;
        // Only a budget that is full makes room: an account closed or evicted already is simply refused.
        if (!makeRoom || Volatile.Read(ref closed) || EvictionReason is not null) return false;
        budget.EvictLargest();
        return TryReserveOnce(bytes);
    }

    private bool TryReserveOnce(long bytes)
    {
        budget.Step("reserve");
        lock (gate)
        {
            if (closed || EvictionReason is not null || !budget.TryAdd(bytes)) return false;
            Volatile.Write(ref reserved, reserved + bytes);
            return true;
        }
    }

    /// <summary>The reserved bytes are made and gone (or handed to the buffers, which Hold counts).</summary>
    public void Unreserve(long bytes)
    {
        budget.Step("unreserve");
        lock (gate)
        {
            if (closed || EvictionReason is not null) return;
            bytes = Math.Min(bytes, reserved);
            budget.Add(-bytes);
            Volatile.Write(ref reserved, reserved - bytes);
        }
    }

    internal void Evict(string reason)
    {
        budget.Step("evict: empty the account");
        lock (gate)
        {
            if (closed || EvictionReason is not null) return;
            EvictionReason = reason;
            Empty();
        }
        budget.CountEviction();
        // Outside the lock: the owner may end at once, on this thread, and close its account.
        budget.Step("evict: tell the owner");
        owner.Evict(reason);
    }

    /// <summary>The connection has ended: whatever it still counted leaves the total.</summary>
    public void Dispose()
    {
        budget.Step("close the account");
        lock (gate)
        {
            if (closed) return;
            closed = true;
            Empty();
        }
        budget.Close(this);
    }

    private void Empty()
    {
        budget.Add(-(held + reserved));
        Volatile.Write(ref held, 0);
        Volatile.Write(ref reserved, 0);
    }
}
