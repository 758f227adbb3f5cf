// src/eviction/KeyValueStore.Eviction.cs: what goes when the store is past --max-memory, under a policy that lets keys
// go (--max-memory-policy, CONFIG SET maxmemory-policy), as a cache (memcached, Redis's allkeys-lru) does.
//
// Under noeviction, the default, a write past the budget is refused. Under another policy it is stored, and as the
// step ends (the outermost hold of the lock: after the command, EXEC, the script) keys are evicted until the store is
// within its budget again: never in the middle of a command, which may hold a value it is about to change. The
// budget stretches within one step to twice itself at most, and a write larger than the whole budget is refused.
// A victim is chosen as Redis chooses one, by sampling: a random key (allkeys-random, volatile-random); the first
// sampled key not used since eviction last looked at it (the LRU policies: a second chance, as an operating
// system's clock gives pages, with one bit a pair); the key with a deadline that comes first (volatile-ttl, exact,
// from the deadlines' heap). The volatile policies choose only among keys with a deadline; when there are none, the
// store stays full and writes are refused. Each evicted key is announced (`evicted`) and counted.

namespace KV;

/// <summary>Redis's maxmemory-policy values that KV serves (the LFU ones, which count uses, it does not).</summary>
public enum EvictionPolicy { NoEviction, AllKeysLru, VolatileLru, AllKeysRandom, VolatileRandom, VolatileTtl }

public static class EvictionPolicies
{
    private static readonly (string Name, EvictionPolicy Policy)[] Names =
    [
        ("noeviction", EvictionPolicy.NoEviction), ("allkeys-lru", EvictionPolicy.AllKeysLru),
        ("volatile-lru", EvictionPolicy.VolatileLru), ("allkeys-random", EvictionPolicy.AllKeysRandom),
        ("volatile-random", EvictionPolicy.VolatileRandom), ("volatile-ttl", EvictionPolicy.VolatileTtl),
    ];

    public static string NameOf(EvictionPolicy policy) => Names.First(n => n.Policy == policy).Name;

    /// <summary>The policy of a name, as Redis spells it (any case); null for one KV does not serve.</summary>
    public static EvictionPolicy? Find(string name) =>
        Names.FirstOrDefault(n => n.Name.Equals(name, StringComparison.OrdinalIgnoreCase)) is { Name: not null } found
            ? found.Policy : null;

    /// <summary>Why a name is refused: the one error for the option and CONFIG SET.</summary>
    public static string Unknown(string name) => $"unknown policy '{name}' (expected " +
        string.Join(", ", Names.Select(n => n.Name)) + "; KV approximates LRU and does not count uses for LFU)";
}

public sealed partial class KeyValueStore
{
    /// <summary>
    /// The most keys an LRU policy samples for one victim. It takes the first not used since last looked at, so it
    /// samples few while most are cold; only when nearly all are in use does it take the last, used or not.
    /// </summary>
    private const int Samples = 64;

    /// <summary>The most keys one step's end evicts: a budget cut by gigabytes is reached over several steps (the
    /// active expiry's tick is one), not in one hold of the lock.</summary>
    private const int EvictedPerStep = 4096;

    private EvictionPolicy policy;
    private bool cannotEvict;
    private long evicted;

    /// <summary>What goes when the store is past its budget (--max-memory-policy).</summary>
    public EvictionPolicy Policy
    {
        get { using (Hold()) return policy; }
        set { using (Hold()) policy = value; }
    }

    /// <summary>The keys evicted since the server started (INFO's evicted_keys).</summary>
    public long Evicted { get { using (Hold()) return evicted; } }

    /// <summary>
    /// Under the lock, for a change that would pass the budget: admitted, to be evicted for as the step ends, unless
    /// the policy is noeviction, the change could never fit, it would stretch the budget to twice itself in one step,
    /// a volatile policy has no key with a deadline to evict, or the last end of a step found nothing left to evict.
    /// (A write that leaves too little to evict is kept, as Redis keeps it: the store then stays past its budget by
    /// that write, and refuses the next.)
    /// </summary>
    partial void AdmitPastBudget(long growth, ref bool admitted) =>
        admitted = !(policy == EvictionPolicy.NoEviction || cannotEvict || growth > maxBytes
            || accounted + growth - maxBytes > maxBytes
            || (policy is not (EvictionPolicy.AllKeysLru or EvictionPolicy.AllKeysRandom) && deadlines.Count == 0));

    /// <summary>A lookup found the pair: its second chance under an LRU policy is back.</summary>
    partial void Found(int located) => pairs.MarkUsed(located);

    /// <summary>The outermost hold ends: keys go until the store is within its budget again.</summary>
    partial void StepEnding()
    {
        if (maxBytes > 0 && accounted > maxBytes) EvictToBudget();
        else cannotEvict = false;
    }

    /// <summary>Under the lock, as the outermost hold ends: evicts until the store is within its budget.</summary>
    private void EvictToBudget()
    {
        for (var count = 0; accounted > maxBytes && count < EvictedPerStep; count++)
        {
            if (Victim() is not { } key)
            {
                cannotEvict = true;
                return;
            }
            RemovePair(key);
            evicted++;
            Announce(KeyEventClass.Evicted, "evicted", key);
        }
    }

    /// <summary>Under the lock: the key the policy lets go next; null when it has none to offer.</summary>
    private byte[]? Victim()
    {
        var volatileOnly = policy is EvictionPolicy.VolatileLru or EvictionPolicy.VolatileRandom;
        if (policy == EvictionPolicy.NoEviction || pairs.Count == 0 || (volatileOnly && deadlines.Count == 0))
            return null;
        if (policy == EvictionPolicy.VolatileTtl) return deadlines.TryPeekDue(long.MaxValue, out var soonest)
            ? soonest : null;
        var byUse = policy is EvictionPolicy.AllKeysLru or EvictionPolicy.VolatileLru;
        Span<int> spared = stackalloc int[Samples];
        var located = -1;
        for (var sampled = 0; sampled < (byUse ? Samples : 1); sampled++)
        {
            located = volatileOnly ? pairs.Locate(deadlines.KeyAt(Random.Shared.Next(deadlines.Count)))
                : pairs.RandomHeld(Random.Shared);
            if (!byUse) break;
            // Used since last looked at: a second chance, which lasts at least until the next victim is sought (a key
            // sampled twice here is spared again). The last sampled goes when every one of them had it.
            if (spared[..sampled].Contains(located) || pairs.TakeUse(located)) spared[sampled] = located;
            else break;
        }
        return pairs.At(located)!.Value.KeySpan.ToArray();
    }
}
