// src/resp/RespTransactions.cs: MULTI, EXEC, DISCARD, WATCH and UNWATCH, with Redis's replies. After MULTI the commands
// are checked and queued (`+QUEUED`); EXEC runs them all in one hold of the store's lock, so no other client's
// request lands between them, or none when one was refused while queueing (`-EXECABORT`), or none when a WATCHed
// key changed since WATCH, from either protocol (a null array: the optimistic lock's "try again").
//
// What is queued counts against --max-client-memory, through the connection's own account; a transaction that would
// pass it is refused (and so aborted). Commands answered apart from the others (KEYS in slices, AUTH at its address's
// turn, HELLO, MONITOR) cannot be queued: they are refused inside MULTI, and the transaction is aborted.

using System.Buffers;

namespace KV;

/// <summary>A transaction being queued: the commands' arguments, copied, and the bytes they hold.</summary>
public sealed class QueuedTransaction
{
    public List<List<ReadOnlySequence<byte>>> Commands { get; } = [];
    public long Bytes { get; set; }
    public bool Refused { get; set; }
}

/// <summary>
/// A queued SET's value, copied into the slab the store will keep its pair in (KeyValueStore.Prepare): EXEC hands
/// the slab over as it is, instead of copying every value again under the store's lock. Taken once.
/// </summary>
public sealed class PreparedValue : ReadOnlySequenceSegment<byte>
{
    private byte[]? slab;

    private PreparedValue(StoredPair pair)
    {
        slab = pair.Slab;
        Memory = pair.Value;
    }

    /// <summary>The value as one argument, prepared when it is large enough for a slab of its own.</summary>
    public static ReadOnlySequence<byte> Argument(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) =>
        KeyValueStore.Prepare(key, value) is { } pair && new PreparedValue(pair) is var prepared
            ? new ReadOnlySequence<byte>(prepared, 0, prepared, prepared.Memory.Length)
            : new ReadOnlySequence<byte>(value.ToArray());

    /// <summary>The slab behind an argument Argument prepared, the first time it is asked; null otherwise.</summary>
    public static byte[]? Take(ReadOnlySequence<byte> argument)
    {
        if (argument.Start.GetObject() is not PreparedValue prepared) return null;
        var taken = prepared.slab;
        prepared.slab = null;
        return taken;
    }
}

public static class RespTransactions
{
    /// <summary>The most commands one transaction may queue, whatever the memory budget says.</summary>
    public const int MaxQueued = 100_000;

    /// <summary>
    /// The most keys one connection may WATCH at once: each one is a registration the store keeps until EXEC.
    /// </summary>
    public const int MaxWatched = 10_000;

    /// <summary>
    /// What a watched key holds beyond its bytes, for the clients' budget: the connection's copy of the key and its
    /// entry, and the store's entry (its own copy of the key, a version, a count of watchers).
    /// </summary>
    public const int WatchOverheadBytes = 128;

    private static long WatchCost(long keyBytes) => 2 * keyBytes + WatchOverheadBytes;

    public static void Multi(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (session.Transaction is not null) RespReply.Error(output, "MULTI calls can not be nested");
        else
        {
            session.Transaction = new QueuedTransaction();
            RespReply.Ok(output);
        }
    }

    /// <summary>
    /// A command sent after MULTI: checked, copied and queued, or refused (and the transaction with it).
    /// </summary>
    public static void Queue(RespSession session, RespCommand command, RespArguments args, IBufferWriter<byte> output)
    {
        var transaction = session.Transaction!;
        if (!command.InTransaction)
        {
            Refuse(session, output,
                $"{command.Name.ToUpperInvariant()} is not allowed inside a transaction in KV (it is answered apart: " +
                $"send it before MULTI or after EXEC)");
            return;
        }
        // As Redis: a full store takes no command into a transaction, which could grow without end.
        if (session.Store.Full)
        {
            Refuse(session, output, RespCommands.OutOfMemory, prefix: "OOM");
            return;
        }
        var copied = new List<ReadOnlySequence<byte>>(args.Count);
        var bytes = 64L;
        var preparesValue = command.Name == "set" && args.Count >= 3;
        for (var i = 0; i < args.Count; i++)
        {
            copied.Add(preparesValue && i == 2 ? PreparedValue.Argument(args[1], args[2])
                : new ReadOnlySequence<byte>(args[i].ToArray()));
            bytes += args.Sequence(i).Length + 32;
        }
        if (transaction.Commands.Count >= MaxQueued || session.Connection?.TryReserve(bytes) == false)
        {
            Refuse(session, output,
                $"the transaction is too large: at most {MaxQueued} commands, within the clients' memory budget " +
                $"(--max-client-memory)");
            return;
        }
        transaction.Bytes += bytes;
        transaction.Commands.Add(copied);
        output.Write("+QUEUED\r\n"u8);
    }

    /// <summary>
    /// A command refused while queueing: its error now, and EXECABORT at EXEC; what was queued is let go at once.
    /// </summary>
    public static void Refuse(RespSession session, IBufferWriter<byte> output, string error, string prefix = "ERR")
    {
        RespReply.Error(output, error, prefix);
        if (session.Transaction is null) return;
        Release(session);
        session.Transaction = new QueuedTransaction { Refused = true };
    }

    public static void Exec(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (session.Transaction is not { } transaction)
        {
            RespReply.Error(output, "EXEC without MULTI");
            return;
        }
        Release(session);
        if (transaction.Refused) RespReply.Error(output, "Transaction discarded because of previous errors.",
            prefix: "EXECABORT");
        // Queued while there was room, run once there is none: refused whole, as Redis refuses it.
        else if (session.Store.Full
            && transaction.Commands.Any(queued => RespCommands.Find(queued[0].FirstSpan)!.Writes))
            RespReply.Error(output, "Transaction discarded because of: OOM " + RespCommands.OutOfMemory,
                prefix: "EXECABORT");
        else if (!WatchedKeys.RunIfUnchanged(session.Store, session.Watching, () =>
        {
            RespReply.ArrayHeader(output, transaction.Commands.Count);
            session.InStep = true;
            try
            {
                foreach (var queued in transaction.Commands)
                {
                    var arguments = new RespArguments(queued);
                    RespCommands.Find(arguments[0])!.Invoke(session, arguments, output);
                }
            }
            finally
            {
                session.InStep = false;
            }
        }))
            RespReply.NullArray(output, session.Protocol);
        Unwatch(session);
    }

    /// <summary>
    /// A request told BUSY (a script runs past its limit), as Redis tells it: a transaction it was to join is
    /// refused at EXEC; EXEC itself discards the transaction and says why.
    /// </summary>
    public static void RefuseBusy(RespSession session, RespCommand command, IBufferWriter<byte> output)
    {
        if (command.Name != "exec" || session.Transaction is null)
        {
            Refuse(session, output, RespCommands.Busy, prefix: "BUSY");
            return;
        }
        Release(session);
        Unwatch(session);
        RespReply.Error(output, "Transaction discarded because of: BUSY " + RespCommands.Busy, prefix: "EXECABORT");
    }

    public static void Discard(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (session.Transaction is null)
        {
            RespReply.Error(output, "DISCARD without MULTI");
            return;
        }
        Release(session);
        Unwatch(session);
        RespReply.Ok(output);
    }

    public static void Watch(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (session.Transaction is not null)
        {
            RespReply.Error(output, "WATCH inside MULTI is not allowed");
            return;
        }
        if (session.Watching.Count + args.Count - 1 > MaxWatched)
        {
            RespReply.Error(output, $"too many watched keys: a connection may WATCH at most {MaxWatched}");
            return;
        }
        // Counted against the clients' budget, all of them or none, before the store registers any.
        var lengths = Enumerable.Range(1, args.Count - 1).Select(i => args.Sequence(i).Length).ToList();
        if (session.Connection?.TryReserve(lengths.Sum(WatchCost)) == false)
        {
            RespReply.Error(output, "watched keys past the clients' memory budget (--max-client-memory)");
            return;
        }
        // One copy of all the keys, sliced: a thousand keys are one array for the collector, not a thousand.
        var copy = GC.AllocateUninitializedArray<byte>((int)lengths.Sum());
        var keys = new List<ReadOnlyMemory<byte>>(args.Count - 1);
        for (var (i, at) = (1, 0); i < args.Count; i++)
        {
            var key = args.Sequence(i);
            key.CopyTo(copy.AsSpan(at));
            keys.Add(copy.AsMemory(at, (int)key.Length));
            at += (int)key.Length;
        }
        WatchedKeys.Watch(session.Store, keys, session.Watching);
        RespReply.Ok(output);
    }

    public static void Unwatch(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        Unwatch(session);
        RespReply.Ok(output);
    }

    /// <summary>The queue's memory goes back to the budget; the session is out of MULTI.</summary>
    public static void Release(RespSession session)
    {
        if (session.Transaction is { } transaction) session.Connection?.Unreserve(transaction.Bytes);
        session.Transaction = null;
    }

    /// <summary>
    /// Every WATCH of the session let go (after EXEC or DISCARD, on UNWATCH, when the connection ends).
    /// </summary>
    public static void Unwatch(RespSession session)
    {
        foreach (var (key, _) in session.Watching) WatchedKeys.Unwatch(session.Store, key);
        session.Connection?.Unreserve(session.Watching.Sum(watched => WatchCost(watched.Key.Length)));
        session.Watching.Clear();
    }
}
