// src/store/KeyValueStore.cs: the data. One hash table (PairTable) guarded by one lock, shared by every connection.
//
// The server includes it; the client does not (it never holds data). The lock is the whole synchronisation
// story of KV: every public operation takes it once (`using (Hold())`) and does all its reading and writing inside,
// so a concurrent reader sees an operation entirely or not at all. Atomically runs several of them as one step
// (MGET, DEL of many keys, RENAME, EXEC): the lock is re-entrant. The one way around it is --unsafe-no-lock, a
// lesson on data races. A feature that must hear of every change (WATCH) adds an IStoreObserver.
//
// The store knows no protocol: what RESP builds of several steps (GETDEL, APPEND, RENAME, MSET, WATCH) is in
// src/resp, on these primitives. A value is a string, or an object of a kind a feature defines (a list, a hash),
// held by handle beside the strings: KeyValueStore.Objects.cs.

using System.Buffers;

namespace KV;

public enum SetCondition { Always, IfAbsent, IfPresent }

public enum SetResult { Stored, ConditionFailed, OutOfMemory }

public enum IncrementResult { Done, NotAnInteger, Overflow, OutOfMemory }

/// <summary>
/// Redis's conditions on a new deadline: NX (none yet), XX (one already), GT (later), LT (sooner; no deadline counts as
/// never), XX LT.
/// </summary>
public enum ExpireCondition { Always, IfNone, IfSome, IfLater, IfSooner, IfSomeAndSooner }

/// <summary>
/// What a `set` does to the key's deadline: clears it (a plain SET), keeps it (KEEPTTL), or sets one (ms since 1970).
/// </summary>
public readonly record struct Expiry(long? Deadline, bool Keep)
{
    public static Expiry Clear => default;
    public static Expiry KeepExisting => new(null, true);
    public static Expiry At(long deadline) => new(deadline, false);
}

/// <summary>
/// Told of every change to a key, under the store's lock (WATCH's versions): it must be quick, and not wait.
/// </summary>
public interface IStoreObserver
{
    /// <summary>
    /// The key is about to be set, removed, expired, or given or relieved of a deadline: Peek still reads what it
    /// holds (an undo log keeps it).
    /// </summary>
    void Changed(ReadOnlySpan<byte> key);

    /// <summary>Every key is about to go (a flush); `exists` says which are there now.</summary>
    void Emptying(KeyFilter exists);
}

/// <summary>
/// The data: one hash table guarded by one lock. Most holds are short: a lookup, a copy of the pair into the
/// table or of a value into a reply, a removal, one slice of a listing (sorting happens outside it), a few
/// thousand due keys removed at most. A step made of many (MGET, MSET, EXEC: Atomically) holds it for all of its
/// parts, so its length is its caller's: the clients' budget bounds what a transaction may queue.
/// Keys and values are UTF-8 bytes, what the wire carries (half the size of a .NET string), so a `get` copies bytes
/// straight into the reply; lookups take a span of the request line, so a `get` allocates nothing.
/// A pair's bytes are the table's (PairTable), which may move and reuse them, so they are valid only under the
/// lock: TryRead hands a value to the code that copies it into the reply, a listing copies the keys a slice at a time.
/// </summary>
public sealed partial class KeyValueStore
{
    /// <summary>
    /// What a pair costs beyond its key and value, by --max-memory's measure: its 6-byte header, its slot in the table
    /// (8 bytes, at a load of 1/2 to 3/4: up to 16), and a share of unused room.
    /// </summary>
    public const int EntryOverheadBytes = 24;

    /// <summary>
    /// A table this large leaves its old array (megabytes) to the GC's rarest collection when it grows.
    /// </summary>
    private const int LargeTableSlots = 1 << 18;

    private readonly Lock gate = new();
    private readonly bool unguarded;
    private PairTable pairs = PairTable.New();
    private Deadlines deadlines = new();
    private long maxBytes;
    private readonly TimeProvider time;
    private long accounted;
    private IStoreObserver[] observers = [];

    /// <param name="maxBytes">The budget for AccountedBytes (--max-memory); 0 is unlimited. A set past it is refused,
    /// unless a feature admits it (AdmitPastBudget).</param>
    /// <param name="time">The clock deadlines are read against (tests move their own).</param>
    /// <param name="unguarded">
    /// No lock at all (--unsafe-no-lock): concurrent requests then race inside the table, which is what a class is
    /// shown with it. Never for data anyone wants to keep.
    /// </param>
    public KeyValueStore(long maxBytes = 0, TimeProvider? time = null, bool unguarded = false)
    {
        this.maxBytes = maxBytes;
        this.time = time ?? TimeProvider.System;
        this.unguarded = unguarded;
    }

    /// <summary>Takes the store's lock until the end of the `using`; re-entrant: a step may call others.</summary>
    private Guard Hold()
    {
        if (unguarded) return default;
        gate.Enter();
        return Entered();
    }

    /// <summary>The lock just taken: the hold counted, to be let go by the guard.</summary>
    private Guard Entered()
    {
        depth++;
        return new Guard(this);
    }

    /// <summary>The lock held by Hold, let go when disposed; holds nothing when the store is unguarded.</summary>
    private readonly ref struct Guard(KeyValueStore? held)
    {
        public void Dispose() => held?.LetGo();
    }

    /// <summary>
    /// Runs `work` as one step of the store: the operations it calls happen with no other client's between them, and a
    /// concurrent reader sees all of their changes or none (MGET, DEL and EXISTS of many keys). Keep it short: every
    /// other client waits meanwhile.
    /// </summary>
    public void Atomically<TState>(TState state, Action<TState> work)
    {
        using (Hold()) work(state);
    }

    /// <summary>The same, for a step with a result (GETDEL's value, RENAME's outcome, EXEC's verdict).</summary>
    public TResult Atomically<TState, TResult>(TState state, Func<TState, TResult> work)
    {
        using (Hold()) return work(state);
    }

    /// <summary>Adds an observer of every change from now on.</summary>
    public void Observe(IStoreObserver observer)
    {
        using (Hold()) observers = [.. observers, observer];
    }

    /// <summary>Under the lock: the key changed; the observers hear of it (none, most of the time).</summary>
    private void Changed(ReadOnlySpan<byte> key)
    {
        foreach (var observer in observers) observer.Changed(key);
    }

    /// <summary>The clock deadlines are read against.</summary>
    public TimeProvider Clock => time;

    /// <summary>Now, as deadlines are written: milliseconds since 1970.</summary>
    public long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>How many keys whose time has come Count removes before it counts, in the same hold.</summary>
    private const int DueRemovedByCount = 4096;

    /// <summary>
    /// The keys (DBSIZE, `stats`). Those whose time has come are removed first, up to DueRemovedByCount of them, so
    /// that a count never holds the lock for a million keys falling due at once: then it may count some that active
    /// expiry removes within the second, as Redis's DBSIZE counts expired keys not yet removed.
    /// </summary>
    public int Count
    {
        get
        {
            using (Hold())
            {
                RemoveDue(Now, DueRemovedByCount);
                return pairs.Count;
            }
        }
    }

    /// <summary>
    /// The pairs held, counting those expired but not removed yet: a size hint that never waits for removals.
    /// </summary>
    public int CountHeld { get { using (Hold()) return pairs.Count; } }

    /// <summary>Keys with a deadline, and their average time left in milliseconds (INFO's keyspace line).</summary>
    public (int Keys, long AverageMilliseconds) Expiring
    {
        get { using (Hold()) return (deadlines.Count, deadlines.AverageRemaining(Now)); }
    }

    /// <summary>
    /// The bytes the table keeps the pairs in (PairTable.BytesHeld): what the store really takes, but for its slots.
    /// Read without the lock, a moment stale at worst: a memory keeper reads it from a pool thread, which must never
    /// wait out a long hold (an EXEC) while the pool readies only a few threads at once.
    /// </summary>
    public long PairBytes => pairs.BytesHeld;

    /// <summary>The table's slots: it grew when this changed.</summary>
    public int Capacity { get { using (Hold()) return pairs.Capacity; } }
    /// <summary>
    /// The budget (--max-memory, CONFIG SET maxmemory); 0 is unlimited. A smaller one evicts what the policy lets go.
    /// </summary>
    public long MaxBytes
    {
        get { using (Hold()) return maxBytes; }
        set { using (Hold()) maxBytes = value; }
    }

    /// <summary>
    /// Under the lock: whether a change that adds `growth` bytes is refused: it would pass the budget, and no feature
    /// admits it (an eviction policy, which lets keys go as the step ends).
    /// </summary>
    private bool Refuses(long growth)
    {
        if (maxBytes <= 0 || growth <= 0 || accounted + growth <= maxBytes) return false;
        var admitted = false;
        AdmitPastBudget(growth, ref admitted);
        return !admitted;
    }

    // The plug points of a feature that lets keys go (src/eviction), all under the lock: a write past the budget may
    // be admitted; a lookup found a key (a use to remember); the outermost hold of a step ends. They are C#'s partial
    // methods: in a server built without such a feature the compiler removes every call to them.
    partial void AdmitPastBudget(long growth, ref bool admitted);
    partial void Found(int located);
    partial void StepEnding();

    /// <summary>No room for even the smallest pair: Redis's "used memory > maxmemory".</summary>
    public bool Full { get { using (Hold()) return Refuses(EntryOverheadBytes + 1); } }

    /// <summary>
    /// The bytes the store holds, by the measure --max-memory limits: each key and value plus EntryOverheadBytes.
    /// </summary>
    public long AccountedBytes { get { using (Hold()) return accounted; } }

    private static long Cost(int keyBytes, int valueBytes) => keyBytes + valueBytes + EntryOverheadBytes;
    private static long Cost(StoredPair pair) => Cost(pair.KeyLength, pair.ValueLength);

    /// <summary>
    /// Hands the key's value to `read` under the lock, which copies it where it goes (into a reply): the value's
    /// bytes are the table's, and may be moved and reused once the lock is released. False when there is none.
    /// </summary>
    public bool TryRead<TState>(ReadOnlySpan<byte> key, TState state, ReadOnlySpanAction<byte, TState> read)
    {
        using (Hold())
        {
            if (pairs.At(LocateLive(key)) is not { } pair) return false;
            RequireString(pair);
            read(pair.Value.Span, state);
            return true;
        }
    }

    /// <summary>
    /// Under the lock: where the key is, as PairTable.Locate says, once a pair whose deadline has passed is gone: an
    /// expired key is absent for every command the moment its time comes. Only a marked pair looks its deadline up.
    /// </summary>
    private int LocateLive(ReadOnlySpan<byte> key)
    {
        var located = pairs.Locate(key);
        if (located < 0) return located;
        Found(located);
        if (!pairs.At(located)!.Value.HasDeadline || !deadlines.TryGet(key, out var deadline) || deadline > Now)
            return located;
        RemovePair(key);
        Announce(KeyEventClass.Expired, "expired", key);
        return pairs.Locate(key);
    }

    /// <summary>Under the lock: removes the pair and its deadline, and what they counted.</summary>
    private StoredPair? RemovePair(ReadOnlySpan<byte> key)
    {
        if (pairs.At(pairs.Locate(key)) is not { } held) return null;
        if (observers.Length > 0) Changed(key);
        if (held.HoldsObject) Release(held);
        if (pairs.Remove(key) is not { } pair) return null;
        accounted -= Cost(pair);
        if (pair.HasDeadline && deadlines.Remove(key)) accounted -= DeadlineCost(key.Length);
        return pair;
    }


    public SetResult Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, SetCondition condition = SetCondition.Always,
        Expiry expiry = default) =>
        Set(key, value, condition, expiry, wantPrevious: false, out _);

    /// <summary>As Set, and `previous` is a copy of the value that was there (SET ... GET).</summary>
    public SetResult Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, SetCondition condition, Expiry expiry,
        out byte[]? previous) =>
        Set(key, value, condition, expiry, wantPrevious: true, out previous);

    /// <summary>
    /// A large pair written, outside the lock, into the array the table will keep it in, for SetAnnounced's `prepared`:
    /// a request queued now and stored later (EXEC) copies its value now. Null for a small pair.
    /// </summary>
    public static StoredPair? Prepare(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) =>
        PairTable.Prepare(key, value);

    /// <summary>
    /// Stores the pair unless the condition fails or the budget would be passed, in one critical section, so
    /// that `SET k v NX` between two clients stores exactly once. `previous` is the value that was there.
    /// </summary>
    private SetResult Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, SetCondition condition, Expiry expiry,
        bool wantPrevious, out byte[]? previous, byte[]? prepared = null)
    {
        bool grew;
        using (Hold())
        {
            var located = LocateLive(key);
            var existing = pairs.At(located);
            if (wantPrevious && existing is { } held) RequireString(held);
            previous = wantPrevious ? existing?.Value.ToArray() : null;
            if (condition != SetCondition.Always && (condition == SetCondition.IfAbsent
                ? existing is not null : existing is null))
                return SetResult.ConditionFailed;
            // A deadline already past (EXAT in the past): stored and expired at once, as Redis does, so simply gone.
            if (expiry.Deadline <= Now)
            {
                RemovePair(key);
                return SetResult.Stored;
            }
            var hadDeadline = existing?.HasDeadline ?? false;
            var hasDeadline = expiry.Keep ? hadDeadline : expiry.Deadline is not null;
            if (!TryStore(located, existing, key, value, hasDeadline, out grew, prepared)) return SetResult.OutOfMemory;
            if (expiry.Deadline is { } deadline) ChargeDeadline(key, deadline);
            else if (hadDeadline && !hasDeadline) ForgetDeadline(key);
        }
        if (grew) ReleaseOldTable();
        return SetResult.Stored;
    }

    /// <summary>
    /// Under the lock: stores the pair where Locate found its place, unless the budget would be passed.
    /// </summary>
    private bool TryStore(int located, StoredPair? existing, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value,
        bool hasDeadline, out bool grewLarge, byte[]? prepared = null)
    {
        grewLarge = false;
        var freed = existing is { } old ? Cost(old) : 0;
        var objectFreed = existing is { HoldsObject: true } holder ? ObjectOf(holder).Charged : 0;
        var cost = Cost(key.Length, value.Length);
        if (Refuses(cost - freed - objectFreed)) return false;
        var capacity = pairs.Capacity;
        Changed(key);
        // A string in place of an object (SET over a list): the object goes, and what it counted.
        if (existing is { HoldsObject: true } replaced) Release(replaced);
        pairs.Store(located, key, value, hasDeadline, prepared: prepared);
        if (existing is null) Announce(KeyEventClass.New, "new", key);
        accounted += cost - freed;
        grewLarge = pairs.Capacity != capacity && pairs.Capacity >= LargeTableSlots;
        return true;
    }

    /// <summary>
    /// The table has just grown: its old array (megabytes, for a large table) is garbage in the large object heap,
    /// which only a full collection frees. Ask for it now, once per growth of a large table, instead of letting
    /// the resident memory carry it until the GC gets round to it.
    /// </summary>
    private static void ReleaseOldTable() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true,
        compacting: false);

    public bool Contains(ReadOnlySpan<byte> key)
    {
        using (Hold()) return LocateLive(key) >= 0;
    }

    /// <summary>What a pair costs by --max-memory's measure, with its deadline when it has one.</summary>
    public static long PairCost(int keyBytes, int valueBytes, bool withDeadline) =>
        Cost(keyBytes, valueBytes) + (withDeadline ? DeadlineCost(keyBytes) : 0);

    /// <summary>
    /// Whether `moreBytes` more would stay within --max-memory (a step of many checks first: MSET, RENAME).
    /// </summary>
    public bool Fits(long moreBytes)
    {
        using (Hold()) return !Refuses(moreBytes);
    }

    /// <summary>Every key gone (FLUSHDB): a new table and no deadlines; the old ones go to the GC.</summary>
    public void Clear()
    {
        using (Hold())
        {
            foreach (var observer in observers) observer.Emptying(key => pairs.Locate(key) >= 0);
            pairs = PairTable.New();
            deadlines = new Deadlines();
            objects = new StoredObject?[16];
            freeHandles.Clear();
            handlesUsed = 0;
            accounted = 0;
        }
        ReleaseOldTable();
    }

    public bool Remove(ReadOnlySpan<byte> key)
    {
        using (Hold()) return LocateLive(key) >= 0 && RemovePair(key) is not null;
    }
}
