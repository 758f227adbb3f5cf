// src/checking/SequentialStore.cs: KV as a sequential program, the truth the linearizability checker compares against.
//
// One request at a time, no threads, no lock: a map from key to value and "has a deadline". Whatever many clients
// saw at once is correct exactly when some order of their requests, one after another through this model, gives
// every reply they saw (and respects which request finished before which began). Deadlines are modelled as a flag
// only: the histories use deadlines far in the future, so that no key expires while they are recorded. A list is a
// value in parentheses, `(3 1 2)`, its elements words without spaces; BLPOP is modelled as LPOP, its nil as `[]`.

using System.Collections.Immutable;
using System.Globalization;

namespace KV;

/// <summary>A key's content in the model: its value, and whether it has a deadline.</summary>
public readonly record struct ModelEntry(string Value, bool Expiring);

/// <summary>
/// The model's state: the keys of one group, sorted, compared by content (the checker remembers states it has seen).
/// Immutable: each step makes a new one, so that the search can go back to an earlier state for free.
/// </summary>
public sealed class ModelState : IEquatable<ModelState>
{
    private readonly ImmutableSortedDictionary<string, ModelEntry> entries;
    private readonly int hash;

    public static ModelState Empty { get; } =
        new(ImmutableSortedDictionary<string, ModelEntry>.Empty.WithComparers(StringComparer.Ordinal));

    private ModelState(ImmutableSortedDictionary<string, ModelEntry> entries)
    {
        this.entries = entries;
        var combined = new HashCode();
        foreach (var (key, entry) in entries)
        {
            combined.Add(key);
            combined.Add(entry);
        }
        hash = combined.ToHashCode();
    }

    public ModelEntry? this[string key] => entries.TryGetValue(key, out var entry) ? entry : null;

    public ModelState With(string key, ModelEntry? entry) =>
        new(entry is { } stored ? entries.SetItem(key, stored) : entries.Remove(key));

    public bool Equals(ModelState? other) =>
        other is not null && hash == other.hash && entries.Count == other.entries.Count
        && entries.SequenceEqual(other.entries);

    public override bool Equals(object? other) => Equals(other as ModelState);
    public override int GetHashCode() => hash;

    public override string ToString() => "{" + string.Join(", ", entries.Select(Describe)) + "}";

    private static string Describe(KeyValuePair<string, ModelEntry> e) =>
        $"{e.Key}={e.Value.Value}" + (e.Value.Expiring ? " (expiring)" : "");
}

/// <summary>What each command does to the state, and the reply it gives, in the history's words.</summary>
public static class SequentialStore
{
    public static (string Output, ModelState Next) Apply(ModelState state, Command command)
    {
        var args = command.Args;
        switch (command.Name)
        {
            case "get":
                return (state[args[0]] is { } list && IsList(list) ? "ERR" : state[args[0]]?.Value ?? "nil", state);
            case "set":
                return ("OK", state.With(args[0], new ModelEntry(args[1], false)));
            case "del":
            {
                var removed = 0;
                foreach (var key in args)
                    if (state[key] is not null)
                    {
                        removed++;
                        state = state.With(key, null);
                    }
                return (Number(removed), state);
            }
            case "exists":
                return (Number(args.Count(key => state[key] is not null)), state);
            case "incr":
            {
                var delta = args.Length > 1 ? long.Parse(args[1], CultureInfo.InvariantCulture) : 1;
                var entry = state[args[0]];
                if (entry is { } had && (IsList(had) || !long.TryParse(had.Value, CultureInfo.InvariantCulture, out _)))
                    return ("ERR", state);
                var value = (entry is { } old ? long.Parse(old.Value, CultureInfo.InvariantCulture) : 0) + delta;
                return (Number(value), state.With(args[0], new ModelEntry(Number(value), entry?.Expiring ?? false)));
            }
            case "mget":
                return ("[" + string.Join(",", args.Select(key => state[key]?.Value ?? "nil")) + "]", state);
            case "mset":
                for (var i = 0; i < args.Length; i += 2)
                    state = state.With(args[i], new ModelEntry(args[i + 1], false));
                return ("OK", state);
            case "rename":
            {
                if (state[args[0]] is not { } moved) return ("ERR", state);
                return ("OK", args[0] == args[1] ? state : state.With(args[0], null).With(args[1], moved));
            }
            case "expire":
            {
                if (state[args[0]] is not { } entry) return ("0", state);
                var seconds = long.Parse(args[1], CultureInfo.InvariantCulture);
                return ("1", state.With(args[0], seconds <= 0 ? null : entry with { Expiring = true }));
            }
            case "persist":
            {
                if (state[args[0]] is not { Expiring: true } entry) return ("0", state);
                return ("1", state.With(args[0], entry with { Expiring = false }));
            }
            case "ttl":
                return (state[args[0]] is not { } found ? "-2" : found.Expiring ? "+" : "-1", state);
            case "rpush" or "lpush":
            {
                if (state[args[0]] is { } held && !IsList(held)) return ("ERR", state);
                var items = Items(state[args[0]]);
                if (command.Name == "rpush") items.Add(args[1]);
                else items.Insert(0, args[1]);
                return (Number(items.Count), state.With(args[0], ListEntry(items, state[args[0]])));
            }
            case "lpop" or "rpop" or "blpop":
            {
                var empty = command.Name == "blpop" ? "[]" : "nil";
                if (state[args[0]] is not { } held) return (empty, state);
                if (!IsList(held)) return ("ERR", state);
                var items = Items(held);
                var at = command.Name == "rpop" ? items.Count - 1 : 0;
                var taken = items[at];
                items.RemoveAt(at);
                var reply = command.Name == "blpop" ? $"[{args[0]},{taken}]" : taken;
                return (reply, state.With(args[0], items.Count == 0 ? null : ListEntry(items, held)));
            }
            case "llen":
                return state[args[0]] is { } counted && !IsList(counted) ? ("ERR", state)
                    : (Number(Items(state[args[0]]).Count), state);
            case "lmove":
            {
                // LMOVE source destination LEFT RIGHT: the element from the head of one to the tail of the other.
                if (state[args[0]] is not { } source) return ("nil", state);
                if (!IsList(source) || state[args[1]] is { } target && !IsList(target)) return ("ERR", state);
                var items = Items(source);
                var moved = items[0];
                items.RemoveAt(0);
                state = state.With(args[0], items.Count == 0 ? null : ListEntry(items, source));
                var into = Items(state[args[1]]);
                into.Add(moved);
                return (moved, state.With(args[1], ListEntry(into, state[args[1]])));
            }
            case "exec" or "eval":
            {
                var replies = new List<string>(command.Batch.Length);
                foreach (var queued in command.Batch)
                {
                    (var reply, state) = Apply(state, queued);
                    replies.Add(reply);
                }
                return ("[" + string.Join(",", replies) + "]", state);
            }
            default:
                throw new ArgumentException($"the model has no command '{command.Name}'");
        }
    }

    private static string Number(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static bool IsList(ModelEntry entry) => entry.Value.StartsWith('(');

    private static List<string> Items(ModelEntry? entry) => entry is { } list && list.Value.Length > 2
        ? [.. list.Value[1..^1].Split(' ')] : [];

    private static ModelEntry ListEntry(List<string> items, ModelEntry? had) =>
        new("(" + string.Join(' ', items) + ")", had?.Expiring ?? false);
}
