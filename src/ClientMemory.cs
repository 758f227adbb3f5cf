// src/ClientMemory.cs: one budget for the memory all clients hold together: the bytes of requests not yet
// finished and of replies not yet sent (--max-client-memory). Each limit per connection bounds one client;
// this bounds them all, so that 16,384 clients with a half-sent megabyte each cannot take 16 GB.
//
// When a read takes the total past the budget, the connection holding the most is closed with an ERROR,
// as Redis 7's client eviction does: the others are served, and the store loses nothing. (BufferPool keeps
// the freed blocks for the next reads, so that the resident memory follows the budget.)

using System.Collections.Concurrent;

namespace KV;

/// <param name="limit">The budget in bytes; 0 is unlimited.</param>
public sealed class ClientMemoryBudget(long limit)
{
    private readonly ConcurrentDictionary<ClientMemoryAccount, bool> accounts = new();
    private long total;

    public long Limit => limit;
    public long Total => Volatile.Read(ref total);

    /// <summary>An account for one connection; `owner` is told when the budget closes it.</summary>
    public ClientMemoryAccount Open(IEvictable owner)
    {
        var account = new ClientMemoryAccount(this, owner);
        accounts.TryAdd(account, true);
        return account;
    }

    internal void Change(long delta)
    {
        var now = Interlocked.Add(ref total, delta);
        if (delta > 0 && limit > 0 && now > limit) EvictLargest(now);
    }

    internal void Close(ClientMemoryAccount account) => accounts.TryRemove(account, out _);

    /// <summary>O(clients), and only when the budget is passed. The evicted stop counting at once: their memory goes when their conversation ends.</summary>
    private void EvictLargest(long now)
    {
        var largest = accounts.Keys.Where(a => a.EvictionReason is null).MaxBy(a => a.Held);
        largest?.Evict(Errors.ClientMemory(now));
    }
}

/// <summary>What a connection does when the budget closes it: send the reason as its last word, and end.</summary>
public interface IEvictable
{
    void Evict(string reason);
}

/// <summary>What one connection holds, opened by its Conversation the first time it holds more than the block it is served from.</summary>
public sealed class ClientMemoryAccount : IDisposable
{
    private readonly ClientMemoryBudget budget;
    private readonly IEvictable owner;
    private long held;
    private bool closed;

    internal ClientMemoryAccount(ClientMemoryBudget budget, IEvictable owner)
    {
        this.budget = budget;
        this.owner = owner;
    }

    public long Held => Volatile.Read(ref held);

    /// <summary>Why the budget closed this connection; null while it has not.</summary>
    public string? EvictionReason { get; private set; }

    /// <summary>This connection now holds `bytes`. May close the connection that holds the most: perhaps this one.</summary>
    public void Hold(long bytes)
    {
        if (EvictionReason is not null) return;
        var delta = bytes - Interlocked.Exchange(ref held, bytes);
        if (delta != 0) budget.Change(delta);
    }

    internal void Evict(string reason)
    {
        lock (budget)
        {
            if (closed || EvictionReason is not null) return;
            EvictionReason = reason;
            budget.Change(-Interlocked.Exchange(ref held, 0));
        }
        // Outside the lock: the owner may end at once, on this thread, and close its account.
        owner.Evict(reason);
    }

    /// <summary>The connection has ended: whatever it still counted leaves the total.</summary>
    public void Dispose()
    {
        lock (budget)
        {
            closed = true;
            budget.Change(-Interlocked.Exchange(ref held, 0));
            budget.Close(this);
        }
    }
}
