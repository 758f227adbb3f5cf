// src/checking/Linearizability.cs: is a history linearizable? The algorithm Porcupine uses: Wing and Gong's search
// with Lowe's memoization, split by keys (P-compositionality).
//
// A history is linearizable when each operation can be given one instant between its call and its return, such that
// running the operations one at a time in the order of those instants through the sequential model (SequentialStore)
// gives every reply the clients saw. The search walks the calls and returns in time order. At each step it may take
// any operation that has been called and not yet taken, provided no taken-later operation returned before it was
// called: that is, any call before the first return still in the list. It applies the operation to the model, and
// goes on if the model's reply is the one seen. When a return comes up whose operation was not taken, the last
// choice was wrong: it goes back and tries the next. Lowe's memoization: a set of (operations taken, state) already
// explored, so that no configuration is explored twice. One more rule prunes the search: requests sent on one
// connection are served in the order sent (pipelined too), so one is never taken before the one its connection sent
// before it.
//
// P-compositionality: operations on disjoint groups of keys cannot constrain each other, so each group (keys joined
// by the operations that use them together, as MGET, RENAME or EXEC join them) is checked apart: many small searches
// instead of one search of their product.

using System.Diagnostics;

namespace KV;

/// <summary>
/// The checker's answer. When a history is not linearizable, Taken is the longest order that the search could find,
/// ending with its last few operations; from State (what the model holds after all of it), none of Stuck can go next.
/// </summary>
public sealed record Verdict(bool Linearizable, bool TimedOut, IReadOnlyList<string> Keys,
    IReadOnlyList<Operation> Taken, ModelState? State, IReadOnlyList<Operation> Stuck)
{
    public static Verdict Yes { get; } = new(true, false, [], [], null, []);

    /// <summary>The verdict in words, the few operations where the history goes wrong with it.</summary>
    public string Explain()
    {
        if (TimedOut)
            return "unknown: the search ran out of time. Its deepest point so far:\n"
                + (this with { TimedOut = false }).Explain();
        if (Linearizable) return "linearizable";
        var lines = new List<string>
        {
            $"not linearizable (keys {string.Join(", ", Keys)}). The longest order that works ends with:",
        };
        lines.AddRange(Taken.Select(operation => "  " + operation));
        lines.Add($"after it the store holds {State}, and none of these can come next:");
        lines.AddRange(Stuck.Select(operation => "  " + operation));
        return string.Join("\n", lines);
    }
}

public static class Linearizability
{
    /// <summary>How many operations before the point of failure a verdict shows.</summary>
    private const int ContextShown = 6;

    /// <summary>Judges the history; a search longer than `budget` (default: unlimited) gives up: TimedOut.</summary>
    public static Verdict Check(IReadOnlyList<Operation> history, TimeSpan? budget = null)
    {
        var until = budget is { } limit
            ? Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency)
            : long.MaxValue;
        // A read whose reply never came constrains nothing: leaving it out spares the search a choice.
        var relevant = history.Where(operation => operation.Output is not null || !operation.Input.ReadsOnly).ToList();
        foreach (var (keys, group) in Partition(relevant))
        {
            var verdict = CheckGroup(group, until);
            if (!verdict.Linearizable) return verdict with { Keys = keys };
        }
        return Verdict.Yes;
    }

    /// <summary>The groups of keys used together (union-find over the operations' keys) and their operations.</summary>
    public static List<(List<string> Keys, List<Operation> Operations)> Partition(IReadOnlyList<Operation> history)
    {
        var parent = new Dictionary<string, string>(StringComparer.Ordinal);
        string Root(string key)
        {
            if (!parent.TryGetValue(key, out var up)) return parent[key] = key;
            return up == key ? key : parent[key] = Root(up);
        }
        foreach (var operation in history)
        {
            var keys = operation.Input.Keys.ToList();
            if (keys.Count == 0) continue;
            var first = Root(keys[0]);
            foreach (var key in keys.Skip(1)) parent[Root(key)] = first;
        }
        var roots = parent.Keys.ToList().ToDictionary(key => key, Root, StringComparer.Ordinal);
        return history.Where(operation => operation.Input.Keys.Any())
            .GroupBy(operation => roots[operation.Input.Keys.First()], StringComparer.Ordinal)
            .Select(group => (
                roots.Where(r => r.Value == group.Key).Select(r => r.Key).Order(StringComparer.Ordinal).ToList(),
                group.ToList()))
            .ToList();
    }

    /// <summary>A call or a return in the doubly linked list the search walks (Wing and Gong's "entries").</summary>
    private sealed class Entry(int id, bool isCall, long time)
    {
        public readonly int Id = id;
        public readonly bool IsCall = isCall;
        public readonly long Time = time;
        public Entry? Match; // a call's return
        public Entry? Previous, Next;
    }

    private static Verdict CheckGroup(List<Operation> group, long until)
    {
        // Operations numbered by call time, so that the set of those taken is mostly "all up to some number".
        var operations = group.OrderBy(operation => operation.Call).ToArray();
        var earlier = EarlierOnSameConnection(operations);
        var head = Link(operations);
        var taken = new TakenSet(operations.Length);
        var cache = new HashSet<Configuration>();
        var choices = new Stack<(Entry Call, ModelState Before)>();
        var unanswered = new List<Entry>();
        var state = ModelState.Empty;
        var deepest = -1;
        Verdict? stuckAt = null;
        // Once every answered request has its place, those never answered may simply never have happened.
        var answeredLeft = operations.Count(operation => operation.Output is not null);

        // Takes the operation next, if the model gives the reply seen and this point was never explored.
        bool TryTake(Entry call)
        {
            // A connection's requests are served in the order it sent them, pipelined or not.
            if (earlier[call.Id] is var before and >= 0 && !taken.Contains(before)) return false;
            var operation = operations[call.Id];
            var (output, next) = SequentialStore.Apply(state, operation.Input);
            if (operation.Output is not null && operation.Output != output) return false;
            // A request never answered that changes nothing now is better left for later: taken here, it would only
            // make this point look new to the cache, and the search would explore it again.
            if (operation.Output is null && next.Equals(state)) return false;
            taken.Add(call.Id);
            if (!cache.Add(new Configuration(taken.Snapshot(), next)))
            {
                taken.Remove(call.Id);
                return false;
            }
            choices.Push((call, state));
            state = next;
            Lift(call);
            if (operation.Output is not null) answeredLeft--;
            if (choices.Count > deepest)
            {
                deepest = choices.Count;
                stuckAt = null; // described only if the search fails: most histories never need it
            }
            return true;
        }

        var entry = head.Next;
        while (head.Next is not null && answeredLeft > 0)
        {
            if (Stopwatch.GetTimestamp() > until)
                return (stuckAt ?? Describe(head, operations, choices, state)) with { TimedOut = true };
            if (entry!.IsCall)
            {
                // A request that was never answered may well never have happened: it is tried after the others.
                if (operations[entry.Id].Output is null) unanswered.Add(entry);
                else if (TryTake(entry))
                {
                    unanswered.Clear();
                    entry = head.Next;
                    continue;
                }
                entry = entry.Next;
                continue;
            }
            // The first return: only the calls before it may come next.
            var tookOne = unanswered.Any(TryTake);
            unanswered.Clear();
            if (tookOne)
            {
                entry = head.Next;
                continue;
            }
            // Nothing fits: the last choice was wrong. Back to before it, and the candidates are tried again (those
            // already explored are in the cache, so only the untried go further).
            if (choices.Count == deepest && stuckAt is null) stuckAt = Describe(head, operations, choices, state);
            if (choices.Count == 0) return stuckAt ?? Describe(head, operations, choices, state);
            var (call, before) = choices.Pop();
            state = before;
            taken.Remove(call.Id);
            Unlift(call);
            if (operations[call.Id].Output is not null) answeredLeft++;
            entry = head.Next;
        }
        return Verdict.Yes;
    }

    /// <summary>The search's deepest point: the last operations taken, the state, and the calls none of which fits.
    /// </summary>
    private static Verdict Describe(Entry head, Operation[] operations, Stack<(Entry Call, ModelState Before)> choices,
        ModelState state)
    {
        var last = choices.Take(ContextShown).Reverse().Select(choice => operations[choice.Call.Id]).ToList();
        var stuck = new List<Operation>();
        for (var entry = head.Next; entry is not null && entry.IsCall; entry = entry.Next)
            stuck.Add(operations[entry.Id]);
        return new Verdict(false, false, [], last, state, stuck);
    }

    /// <summary>For each operation, the one its connection sent just before it (in this group), or -1.</summary>
    private static int[] EarlierOnSameConnection(Operation[] operations)
    {
        var last = new Dictionary<int, int>();
        var earlier = new int[operations.Length];
        for (var id = 0; id < operations.Length; id++)
        {
            earlier[id] = last.GetValueOrDefault(operations[id].Client, -1);
            last[operations[id].Client] = id;
        }
        return earlier;
    }

    /// <summary>The calls and returns in time order, linked after a head; at the same time, a call first.</summary>
    private static Entry Link(Operation[] operations)
    {
        var entries = new List<Entry>(2 * operations.Length);
        for (var id = 0; id < operations.Length; id++)
        {
            var call = new Entry(id, true, operations[id].Call);
            var returned = new Entry(id, false, operations[id].Return);
            call.Match = returned;
            entries.Add(call);
            entries.Add(returned);
        }
        entries.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : b.IsCall.CompareTo(a.IsCall));
        var head = new Entry(-1, false, long.MinValue);
        var previous = head;
        foreach (var entry in entries)
        {
            previous.Next = entry;
            entry.Previous = previous;
            previous = entry;
        }
        return head;
    }

    /// <summary>Takes an operation out of the list: its call and its return.</summary>
    private static void Lift(Entry call)
    {
        call.Previous!.Next = call.Next;
        call.Next!.Previous = call.Previous;
        var returned = call.Match!;
        returned.Previous!.Next = returned.Next;
        if (returned.Next is not null) returned.Next.Previous = returned.Previous;
    }

    /// <summary>Puts it back where it was, in the reverse order of Lift.</summary>
    private static void Unlift(Entry call)
    {
        var returned = call.Match!;
        if (returned.Next is not null) returned.Next.Previous = returned;
        returned.Previous!.Next = returned;
        call.Next!.Previous = call;
        call.Previous!.Next = call;
    }

    /// <summary>A point of the search, remembered so as not to explore it twice: what is taken, the state.</summary>
    private sealed record Configuration(TakenSnapshot Taken, ModelState State);

    /// <summary>
    /// The operations taken, as "every one below High but these few": operations are numbered by call, so the ones not
    /// taken below the highest taken are the few in flight and those whose reply never came. Small for long histories.
    /// </summary>
    private sealed record TakenSnapshot(int High, int[] NotTaken)
    {
        public bool Equals(TakenSnapshot? other) =>
            other is not null && High == other.High && NotTaken.AsSpan().SequenceEqual(other.NotTaken);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            hash.Add(High);
            foreach (var id in NotTaken) hash.Add(id);
            return hash.ToHashCode();
        }
    }

    /// <summary>The operations taken, kept as one past the highest taken id and the ids below it not taken.</summary>
    private sealed class TakenSet(int count)
    {
        private readonly bool[] taken = new bool[count];
        private readonly SortedSet<int> notTaken = [];
        private int high;

        public void Add(int id)
        {
            taken[id] = true;
            if (id < high)
            {
                notTaken.Remove(id);
                return;
            }
            for (; high < id; high++) notTaken.Add(high);
            high = id + 1;
        }

        public void Remove(int id)
        {
            taken[id] = false;
            if (id < high - 1)
            {
                notTaken.Add(id);
                return;
            }
            for (high = id; high > 0 && !taken[high - 1]; high--) notTaken.Remove(high - 1);
        }

        public bool Contains(int id) => taken[id];

        public TakenSnapshot Snapshot() => new(high, [.. notTaken]);
    }
}
