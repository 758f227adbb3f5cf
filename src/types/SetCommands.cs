// src/types/SetCommands.cs: feature: Redis 7.0's set commands over RESP, each one step of the store
// (TypeCommands.Row): SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SMOVE, SINTER, SUNION
// and SDIFF with their STORE forms, SINTERCARD, SSCAN. A set left empty is removed, as Redis removes it.

using System.Buffers;

namespace KV;

public static class SetCommands
{
    public static RespCommand[] Rows =>
    [
        TypeCommands.Row("sadd", -3, "SADD key member [member ...]: how many were new", Add, writes: true),
        TypeCommands.Row("srem", -3, "SREM key member [member ...]: how many were removed", Remove, writes: true),
        TypeCommands.Row("smembers", 2, "every member", (session, args, output) =>
            Members(output, session.Store.Find<SetValue>(args[1]), session.Protocol)),
        TypeCommands.Row("sismember", 3, "SISMEMBER key member: 1 if it is a member, else 0", (session, args, output) =>
            RespReply.Integer(output, session.Store.Find<SetValue>(args[1])?.Contains(args[2]) == true ? 1 : 0)),
        TypeCommands.Row("smismember", -3, "SMISMEMBER key member [member ...]: 1 or 0 for each", IsMemberMany),
        TypeCommands.Row("scard", 2, "how many members the set has", (session, args, output) =>
            RespReply.Integer(output, session.Store.Find<SetValue>(args[1])?.Count ?? 0)),
        TypeCommands.Row("spop", -2, "SPOP key [count]: members taken at random", Pop, writes: true),
        TypeCommands.Row("srandmember", -2, "SRANDMEMBER key [count]: members at random (negative: with repeats)",
            RandomMembers),
        TypeCommands.Row("smove", 4, "SMOVE source destination member: 1 if moved, 0 if it was not a member", Move,
            writes: true),
        TypeCommands.Row("sinter", -2, "the members every set has", Combine),
        TypeCommands.Row("sunion", -2, "the members any set has", Combine),
        TypeCommands.Row("sdiff", -2, "the members of the first set the others lack", Combine),
        TypeCommands.Row("sinterstore", -3, "SINTERSTORE destination key [key ...]: SINTER stored; its size", Combine,
            writes: true),
        TypeCommands.Row("sunionstore", -3, "SUNIONSTORE destination key [key ...]: SUNION stored; its size", Combine,
            writes: true),
        TypeCommands.Row("sdiffstore", -3, "SDIFFSTORE destination key [key ...]: SDIFF stored; its size", Combine,
            writes: true),
        TypeCommands.Row("sintercard", -3, "SINTERCARD numkeys key [key ...] [LIMIT n]: the size of SINTER",
            InterCard),
        TypeCommands.Row("sscan", -3, "SSCAN key cursor [MATCH pattern] [COUNT n]: the members, in slices",
            (session, args, output) => TypeCommands.Scan(session, args, output,
                session.Store.Find<SetValue>(args[1])?.Members, pairs: false)),
    ];

    /// <summary>A set's members: an array in RESP2, a set (~) in RESP3.</summary>
    private static void Members(IBufferWriter<byte> output, SetValue? set, int protocol) =>
        Members(output, set?.Count ?? 0, set?.Views ?? [], protocol);

    /// <summary>Members held apart from any set (a pop's, a combination's), written as SMEMBERS writes them.</summary>
    private static void Members(IBufferWriter<byte> output, IReadOnlyCollection<byte[]> members, int protocol) =>
        Members(output, members.Count, members.Select(member => (ReadOnlyMemory<byte>)member), protocol);

    private static void Members(IBufferWriter<byte> output, int count, IEnumerable<ReadOnlyMemory<byte>> members,
        int protocol)
    {
        RespReply.SetHeader(output, count, protocol);
        foreach (var member in members)
        {
            if (OutputBuffer.Cut(output)) return;
            RespReply.Bulk(output, member.Span);
        }
    }

    private static void Add(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var store = session.Store;
        var more = 0L;
        for (var i = 2; i < args.Count; i++) more += SetValue.CostOf(args[i].Length);
        if (!TypeCommands.Fits(store, more, output)) return;
        if (TypeCommands.FindOrAdd<SetValue>(store, args[1], output) is not { } set) return;
        var added = 0;
        for (var i = 2; i < args.Count; i++) if (set.Add(args[i])) added++;
        TypeCommands.Changed(store, args[1], set, empty: false, added > 0 ? "sadd" : null);
        RespReply.Integer(output, added);
    }

    private static void Remove(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var store = session.Store;
        var removed = 0;
        if (store.Find<SetValue>(args[1]) is { } set)
        {
            for (var i = 2; i < args.Count; i++)
                if (set.Contains(args[i]) && (removed > 0 || store.Find<SetValue>(args[1], forChange: true) is not null)
                    && set.Remove(args[i])) removed++;
            if (removed > 0) TypeCommands.Changed(store, args[1], set, set.Count == 0, "srem");
        }
        RespReply.Integer(output, removed);
    }

    private static void IsMemberMany(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var set = session.Store.Find<SetValue>(args[1]);
        RespReply.ArrayHeader(output, args.Count - 2);
        for (var i = 2; i < args.Count; i++) RespReply.Integer(output, set?.Contains(args[i]) == true ? 1 : 0);
    }

    private static void Pop(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!TypeCommands.PopCount(args, output, out var count)) return;
        var store = session.Store;
        if (store.Find<SetValue>(args[1], forChange: true) is not { } set)
        {
            if (args.Count == 3) RespReply.EmptyArray(output);
            else RespReply.Null(output, session.Protocol);
            return;
        }
        // One member is one picked at random; more are a shuffle of copies, taken before any goes.
        List<byte[]> taken = count == 1 ? [set.Random().ToArray()]
            : [.. TypeCommands.Pick<ReadOnlyMemory<byte>>([.. set.Views], Math.Min(count, set.Count))!
                .Select(member => member.ToArray())];
        foreach (var member in taken) set.Remove(member);
        if (args.Count == 2) RespReply.Bulk(output, taken[0]);
        else Members(output, taken, session.Protocol);
        TypeCommands.Changed(store, args[1], set, set.Count == 0, "spop");
    }

    private static void RandomMembers(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var set = session.Store.Find<SetValue>(args[1]);
        if (args.Count == 2)
        {
            if (set is null) RespReply.Null(output, session.Protocol);
            else RespReply.Bulk(output, set.Random().Span);
            return;
        }
        if (args.Count > 3)
        {
            RespReply.Error(output, TypeCommands.Syntax);
            return;
        }
        if (!TypeCommands.Integer(args, 2, output, out var count)) return;
        if (TypeCommands.Pick<ReadOnlyMemory<byte>>(set is null ? [] : [.. set.Views], count) is not { } picked)
        {
            RespReply.Error(output, TypeCommands.MustBePositive);
            return;
        }
        RespReply.ArrayHeader(output, picked.Count);
        foreach (var member in picked) RespReply.Bulk(output, member.Span);
    }

    private static void Move(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var store = session.Store;
        var source = store.Find<SetValue>(args[1]);
        var destination = store.Find<SetValue>(args[2]);
        if (source is null || !source.Contains(args[3]))
        {
            RespReply.Integer(output, 0);
            return;
        }
        if (args[1].SequenceEqual(args[2]))
        {
            RespReply.Integer(output, 1);
            return;
        }
        if (destination is null && !TypeCommands.Fits(store, SetValue.CostOf(args[3].Length) + 128, output)) return;
        store.Find<SetValue>(args[1], forChange: true);
        source.Remove(args[3]);
        TypeCommands.Changed(store, args[1], source, source.Count == 0, "srem");
        // A destination that has the member already is left as it is: its WATCHers see no change, as in Redis.
        if (destination?.Contains(args[3]) == true)
        {
            RespReply.Integer(output, 1);
            return;
        }
        if (TypeCommands.FindOrAdd<SetValue>(store, args[2], output) is not { } target) return;
        target.Add(args[3]);
        TypeCommands.Changed(store, args[2], target, empty: false, "sadd");
        RespReply.Integer(output, 1);
    }

    /// <summary>The intersection, union or difference of the sets at `keys`; a missing key is an empty set.
    /// </summary>
    private static HashSet<byte[]> Of(KeyValueStore store, RespArguments args, int from, int to, char operation)
    {
        var sets = Enumerable.Range(from, to - from).Select(i => store.Find<SetValue>(args[i])).ToList();
        var result = new HashSet<byte[]>(sets[0]?.Members ?? [], KeyBytes.Comparer);
        var lookup = result.GetAlternateLookup<ReadOnlySpan<byte>>();
        foreach (var set in sets.Skip(1))
        {
            if (operation == 'i') result.RemoveWhere(member => set?.Contains(member) != true);
            else if (operation == 'u') result.UnionWith(set?.Members ?? []);
            else foreach (var member in set?.Views ?? []) lookup.Remove(member.Span);
        }
        return result;
    }

    private static void Combine(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var name = args.Text(0).ToLowerInvariant();
        var storing = name.EndsWith("store", StringComparison.Ordinal);
        var operation = name[1];
        var store = session.Store;
        var result = Of(store, args, storing ? 2 : 1, args.Count, operation);
        if (!storing)
        {
            Members(output, result, session.Protocol);
            return;
        }
        var made = new SetValue();
        foreach (var member in result) made.Add(member);
        StoreResult(store, args[1], made, made.Count == 0, output, name);
        RespReply.Integer(output, made.Count);
    }

    /// <summary>
    /// A STORE form's result at the destination, in place of what was there (any kind), announced as `happened`; an
    /// empty one removes it (`del`). False, the OOM error written, when it does not fit.
    /// </summary>
    public static bool StoreResult(KeyValueStore store, ReadOnlySpan<byte> destination, StoredObject made, bool empty,
        IBufferWriter<byte> output, string happened)
    {
        if (empty)
        {
            store.Delete(destination);
            return true;
        }
        if (RequestParser.KeyProblem(destination) is { } problem)
        {
            RespReply.Error(output, problem);
            return false;
        }
        if (store.Add(destination, made) == SetResult.Stored)
        {
            TypeCommands.Announce(store, destination, made, happened);
            return true;
        }
        RespReply.Error(output, RespCommands.OutOfMemory, prefix: "OOM");
        return false;
    }

    private static void InterCard(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (TypeCommands.ReadInterCard(args, output) is not var (end, limit)) return;
        var count = Of(session.Store, args, 2, end, 'i').Count;
        RespReply.Integer(output, limit > 0 ? Math.Min(count, limit) : count);
    }
}
