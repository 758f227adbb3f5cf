// src/resp/StoreSteps.cs: what RESP's string commands do in several steps of the store, made one step with
// Atomically: take a value away (GETDEL), add to one (APPEND), move or copy one (RENAME, COPY), set many at once
// (MSET, MSETNX), read one and change its deadline (GETEX). Each is atomic for the same reason `incr` is: no other
// client's request can land between its read and its write. Built on the store's primitives; the store knows no
// protocol.

using System.Runtime.CompilerServices;

namespace KV;

public enum RenameResult { Renamed, NoSuchKey, TargetExists, OutOfMemory }

public static class StoreSteps
{
    /// <summary>A copy of the value and its deadline, or null without the key; in the caller's step.</summary>
    private static (byte[] Value, long? Deadline)? Read(KeyValueStore store, ReadOnlySpan<byte> key)
    {
        var value = new StrongBox<byte[]?>();
        if (!store.TryRead(key, value, static (bytes, box) => box.Value = bytes.ToArray())) return null;
        return (value.Value!, store.DeadlineOf(key).Deadline);
    }

    /// <summary>The value, removed in the same step (GETDEL); null when there was none.</summary>
    public static byte[]? Take(this KeyValueStore store, ReadOnlySpan<byte> key) =>
        store.Atomically((store, key: key.ToArray()), static step =>
        {
            var value = Read(step.store, step.key)?.Value;
            if (value is not null) step.store.Delete(step.key);
            return value;
        });

    /// <summary>Moves the value and its deadline to `target` (RENAME; RENAMENX when `onlyIfAbsent`), replacing it.
    /// </summary>
    public static RenameResult Rename(this KeyValueStore store, ReadOnlySpan<byte> source, ReadOnlySpan<byte> target,
        bool onlyIfAbsent) => Move(store, source, target, replace: !onlyIfAbsent, keepSource: false);

    /// <summary>Copies the value and its deadline to `target` (COPY), replacing what is there only when `replace`.
    /// </summary>
    public static RenameResult Copy(this KeyValueStore store, ReadOnlySpan<byte> source, ReadOnlySpan<byte> target,
        bool replace) => Move(store, source, target, replace, keepSource: true);

    private static RenameResult Move(KeyValueStore store, ReadOnlySpan<byte> source, ReadOnlySpan<byte> target,
        bool replace, bool keepSource) =>
        store.Atomically((store, source: source.ToArray(), target: target.ToArray(), replace, keepSource),
            static step => MoveInStep(step.store, step.source, step.target, step.replace, step.keepSource));

    private static RenameResult MoveInStep(KeyValueStore store, byte[] source, byte[] target, bool replace,
        bool keepSource)
    {
        if (store.KindOf(source) is not { } kind) return RenameResult.NoSuchKey;
        var same = source.AsSpan().SequenceEqual(target);
        // RENAME onto itself keeps the pair (RENAMENX finds the target there, as Redis's does); COPY onto itself
        // copies nothing.
        if (same && !keepSource) return replace ? RenameResult.Renamed : RenameResult.TargetExists;
        if (store.Contains(target) && (!replace || same)) return RenameResult.TargetExists;
        // A large string renamed keeps its bytes where they are; only the key changes (KeyValueStore.TryMoveString).
        if (kind == KeyValueStore.StringKind && !keepSource && store.TryMoveString(source, target))
            return Announced(store, source, target, keepSource);
        // A string is copied out of the table; a list, hash or set is an object that moves itself (RENAME).
        object value = kind == KeyValueStore.StringKind ? Read(store, source)!.Value.Value
            : store.Find<StoredObject>(source)!;
        var deadline = store.DeadlineOf(source).Deadline;
        // Checked before anything moves, so that a refusal loses nothing: what the target will cost, less what goes.
        var cost = value is byte[] bytes ? KeyValueStore.PairCost(target.Length, bytes.Length, deadline is not null)
            : KeyValueStore.PairCost(target.Length, sizeof(int), deadline is not null) + ((StoredObject)value).Bytes;
        var needed = cost - (store.MemoryUsage(target) ?? 0) - (keepSource ? 0 : store.MemoryUsage(source) ?? 0);
        if (!store.Fits(needed)) return RenameResult.OutOfMemory;
        if (!keepSource) store.Remove(source);
        store.Restore(target, (keepSource && value is StoredObject held ? held.Copy() : value, deadline));
        return Announced(store, source, target, keepSource);
    }

    /// <summary>A move or copy done: its events, as Redis's RENAME and COPY announce them.</summary>
    private static RenameResult Announced(KeyValueStore store, byte[] source, byte[] target, bool keepSource)
    {
        if (!keepSource) store.Announce(KeyEventClass.Generic, "rename_from", source);
        store.Announce(KeyEventClass.Generic, keepSource ? "copy_to" : "rename_to", target);
        return RenameResult.Renamed;
    }

    /// <summary>
    /// Sets every pair in one step (MSET), or none: when `onlyIfNoneExist` (MSETNX) and one of the keys exists, or when
    /// they would not all fit the budget. Each pair's deadline is cleared, as a plain set clears it.
    /// </summary>
    public static SetResult SetMany(this KeyValueStore store, IReadOnlyList<(byte[] Key, byte[] Value)> pairs,
        bool onlyIfNoneExist) =>
        store.Atomically((store, pairs, onlyIfNoneExist), static step =>
        {
            var (store, pairs, onlyIfNoneExist) = step;
            if (onlyIfNoneExist && pairs.Any(p => store.Contains(p.Key))) return SetResult.ConditionFailed;
            var needed = pairs.Sum(p => KeyValueStore.PairCost(p.Key.Length, p.Value.Length, withDeadline: false)
                - (store.MemoryUsage(p.Key) ?? 0));
            if (!store.Fits(needed)) return SetResult.OutOfMemory;
            foreach (var (key, value) in pairs)
            {
                store.Set(key, value);
                store.AnnounceSet(key, Expiry.Clear);
            }
            return SetResult.Stored;
        });

    /// <summary>The value, and its deadline changed in the same step (GETEX): `change` null leaves it, Clear removes
    /// it (PERSIST), At sets it (one already past removes the key).</summary>
    public static byte[]? GetAndExpire(this KeyValueStore store, ReadOnlySpan<byte> key, Expiry? change) =>
        store.Atomically((store, key: key.ToArray(), change), static step =>
        {
            var value = Read(step.store, step.key)?.Value;
            if (value is null || step.change is not { } expiry) return value;
            if (expiry.Deadline is { } deadline) step.store.Expire(step.key, deadline);
            else step.store.Persist(step.key);
            return value;
        });
}
