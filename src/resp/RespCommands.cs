// src/resp/RespCommands.cs: the commands KV answers over RESP, one table, each row a name, Redis's arity, a
// summary and the code that runs it against the same store as KV's own protocol.
//
// Replies use Redis's types and, where Redis has one, its wording. Keys and values are any bytes, as KV's own
// protocol carries them (quoted where a line cannot hold them plainly): a pair set over RESP reads back exactly
// over KV's protocol, and the reverse. A key follows the one rule for keys (RequestParser.KeyProblem).

using System.Buffers;
using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Text;

namespace KV;

/// <summary>
/// One row of the RESP table. Arity counts the name, as Redis's does: 2 is exactly one argument, -2 at least one.
/// </summary>
public sealed record RespCommand(string Name, int Arity, string Summary, Action<RespSession, RespArguments,
    IBufferWriter<byte>> Run)
{
    public ReadOnlyMemory<byte> NameUtf8 { get; } = Encoding.ASCII.GetBytes(Name);

    /// <summary>
    /// Served before the password is given: KV's own list (auth, ping, and QUIT for exit), plus HELLO, which may carry
    /// AUTH.
    /// </summary>
    public bool BeforeAuth { get; init; }

    /// <summary>May be queued after MULTI: false for what is answered apart (KEYS, AUTH, HELLO, MONITOR).</summary>
    public bool InTransaction { get; init; } = true;

    /// <summary>Runs at once even after MULTI: the commands that end or shape the transaction, and QUIT.</summary>
    public bool Immediate { get; init; }

    /// <summary>Answered while a script runs past its limit (SCRIPT KILL), when every other command is BUSY.</summary>
    public bool WhileBusy { get; init; }

    /// <summary>
    /// Writes, and may add to, the store (Redis's write and denyoom): refused in a read-only script (EVAL_RO), and
    /// in EXEC once the store is full.
    /// </summary>
    public bool Writes { get; init; }

    public bool Accepts(int count) => Arity >= 0 ? count == Arity : count >= -Arity;

    /// <summary>
    /// Runs the command, whoever asks (a request, EXEC, a script): a key of another kind than the command's is
    /// Redis's WRONGTYPE error. Commands check kinds before they write anything, so the error is the whole reply.
    /// </summary>
    public void Invoke(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        try
        {
            Run(session, args, output);
        }
        catch (WrongKindException)
        {
            RespReply.Error(output, WrongKindException.RedisMessage, prefix: "WRONGTYPE");
        }
    }
}

/// <summary>The arguments of one request, the command name first; slices of the input buffer, read as bytes.</summary>
public readonly struct RespArguments(List<ReadOnlySequence<byte>> items)
{
    public int Count => items.Count;
    public ReadOnlySequence<byte> Sequence(int index) => items[index];
    public ReadOnlySpan<byte> this[int index] => items[index].IsSingleSegment
        ? items[index].FirstSpan : items[index].ToArray();
    public bool Is(int index, ReadOnlySpan<byte> word) => Ascii.EqualsIgnoreCase(this[index], word);
    public string Text(int index) => Errors.Echo(this[index]);
}

/// <summary>A connection mode's part in RESP (a subscriber's, in RESP2): it may answer a request in its command's
/// place.
/// </summary>
public interface IRespMode
{
    /// <summary>True when the mode answered the request itself (a refusal, RESP2's subscribed PING).</summary>
    bool Answers(RespSession session, RespCommand command, RespArguments args, IBufferWriter<byte> output);
}

/// <summary>One RESP client: what every client has, and what Redis keeps per client.</summary>
public sealed class RespSession(KeyValueStore store, IServerFacts server, ConnectionAccess access,
    System.Net.EndPoint? peer)
    : ClientSession(store, server, access, peer)
{
    public string? Name { get; set; }
    public bool Quitting { get; set; }

    /// <summary>Why the connection must end after this reply (a reply that could not be kept), or null.</summary>
    public string? Closing { get; set; }

    /// <summary>CLIENT REPLY: whether replies are sent (pushes always are).</summary>
    public ReplyMode Replies { get; set; }

    /// <summary>Where the request being answered writes what goes out whatever CLIENT REPLY says (pushes, REPLY ON).
    /// </summary>
    public IBufferWriter<byte>? Always { get; set; }

    /// <summary>Where a reply that CLIENT REPLY keeps from the client goes: written, and dropped.</summary>
    public DroppedReply Dropped => dropped ??= new DroppedReply();
    private DroppedReply? dropped;

    /// <summary>After MULTI, until EXEC or DISCARD: what is queued.</summary>
    public QueuedTransaction? Transaction { get; set; }

    /// <summary>The keys WATCHed, with the version each had then.</summary>
    public List<(ReadOnlyMemory<byte> Key, long Version)> Watching { get; } = [];

    /// <summary>The SCANs under way, by cursor number (RespScan).</summary>
    public Dictionary<ulong, TableCursor> Scans { get; } = [];
    public ulong LastScan { get; set; }

    /// <summary>The protocol HELLO chose: 2 until a HELLO 3.</summary>
    public int Protocol { get; set; } = 2;

}

public static class RespCommands
{
    /// <summary>Every command: RESP's own, then those the features registered.</summary>
    public static ImmutableArray<RespCommand> All => all;

    private static ImmutableArray<RespCommand> all =
    [
        new("ping", -1, "PONG, or the message given, as it came", Ping) { BeforeAuth = true },
        new("echo", 2, "the message, byte for byte", (_, args, output) => RespReply.Bulk(output, args.Sequence(1))),
        new("get", 2, "the value, or nil", Get),
        new("set", -3, "store a value; NX only if absent, XX only if present, GET returns the old value",
            Set) { Writes = true },
        new("setnx", 3, "store a value only if the key is absent: 1 if stored, 0 if not",
            SetIfAbsent) { Writes = true },
        new("del", -2, "delete keys: how many existed", RespStrings.Delete),
        new("unlink", -2, "the same as DEL (KV frees memory at once)", RespStrings.Delete),
        new("exists", -2, "how many of the keys exist", RespStrings.Exists),
        new("mget", -2, "the values of the keys, nil for a missing one", RespStrings.MGet),
        new("mset", -3, "MSET key value [key value ...]: every pair in one step", RespStrings.MSet) { Writes = true },
        new("msetnx", -3, "every pair, only if none of the keys exists: 1, else 0 and nothing set",
            RespStrings.MSet) { Writes = true },
        new("getdel", 2, "the value, and the key deleted in the same step", RespStrings.GetDel),
        new("getset", 3, "SET key value GET: the old value", RespStrings.GetSet) { Writes = true },
        new("getex", -2, "the value, and its deadline set (EX, PX, EXAT, PXAT) or removed (PERSIST) in the same step",
            RespStrings.GetEx),
        new("append", 3, "add to the end of the value (a missing key counts as empty): the new length",
            RespStrings.Append) { Writes = true },
        new("strlen", 2, "the value's length in bytes, 0 for a missing key", RespStrings.StrLen),
        new("type", 2, "the kind of value: string, list, hash, set, zset or stream; none for a missing key",
            RespStrings.Type),
        new("rename", 3, "move the value and its deadline to a new key, replacing it: -ERR no such key without one",
            RespStrings.Rename),
        new("renamenx", 3, "RENAME only if the new key is absent: 1, else 0", RespStrings.Rename),
        new("copy", -3, "COPY source destination [DB 0] [REPLACE]: the value and its deadline, 1 if copied, 0 if not",
            RespStrings.Copy) { Writes = true },
        new("getrange", 4, "the bytes from start to end of the value (negative: from its end)", RespStrings.GetRange),
        new("time", 1, "the server's clock: Unix seconds and microseconds", RespConnectionCommands.Time),
        new("flushdb", -1, "delete every key [ASYNC|SYNC]: KV has one database", RespStrings.Flush),
        new("flushall", -1, "the same as FLUSHDB", RespStrings.Flush),
        new("setex", 4, "SETEX key seconds value: SET with EX", RespExpiry.SetEx) { Writes = true },
        new("psetex", 4, "PSETEX key milliseconds value: SET with PX", RespExpiry.PSetEx) { Writes = true },
        new("expire", -3,
            "a deadline in seconds from now [NX|XX|GT|LT]: 1 if set, 0 if not; a past one deletes the key",
            RespExpiry.Expire),
        new("pexpire", -3, "a deadline in milliseconds from now [NX|XX|GT|LT]", RespExpiry.Expire),
        new("expireat", -3, "a deadline as a Unix time in seconds [NX|XX|GT|LT]", RespExpiry.Expire),
        new("pexpireat", -3, "a deadline as a Unix time in milliseconds [NX|XX|GT|LT]", RespExpiry.Expire),
        new("ttl", 2, "seconds left: -1 without a deadline, -2 without the key", RespExpiry.TimeToLive),
        new("pttl", 2, "milliseconds left: -1 without a deadline, -2 without the key", RespExpiry.TimeToLive),
        new("expiretime", 2, "the deadline as a Unix time in seconds: -1, -2 as TTL", RespExpiry.TimeToLive),
        new("pexpiretime", 2, "the deadline as a Unix time in milliseconds", RespExpiry.TimeToLive),
        new("persist", 2, "remove the deadline: 1 if there was one, 0 if not", RespExpiry.Persist),
        new("incr", 2, "add 1 to the integer at the key (a missing key counts from 0): the new value",
            RespCounters.Incr) { Writes = true },
        new("incrby", 3, "add an amount to the integer at the key: the new value",
            RespCounters.IncrBy) { Writes = true },
        new("decr", 2, "subtract 1 from the integer at the key: the new value", RespCounters.Decr) { Writes = true },
        new("decrby", 3, "subtract an amount from the integer at the key: the new value",
            RespCounters.DecrBy) { Writes = true },
        new("incrbyfloat", 3, "add a float to the number at the key (a missing key counts from 0): the new value",
            RespCounters.IncrByFloat) { Writes = true },
        new("keys", 2, "every key matching a Redis glob, sorted as `list` sorts (done in slices: it holds no one up)",
            Keys) { InTransaction = false },
        new("scan", -2,
            "SCAN cursor [MATCH pattern] [COUNT n] [TYPE t]: a slice of the keys and the next cursor, 0 at the end",
            RespScan.Scan),
        new("command", -1, "COMMAND COUNT, COMMAND LIST, COMMAND DOCS [name ...]: this table, for redis-cli's help",
            RespIntrospection.Command),
        new("memory", -2, "MEMORY USAGE key: the bytes --max-memory counts for it", RespScan.Memory),
        new("object", -2, "OBJECT ENCODING key: how the value is held", RespScan.Object),
        new("dbsize", 1, "how many keys there are",
            (session, _, output) => RespReply.Integer(output, session.Store.Count)),
        new("quit", 1, "OK, then the server closes the connection", RespConnectionCommands.Quit) { BeforeAuth = true,
            Immediate = true },
        new("select", 2, "database 0 is the only one", RespConnectionCommands.Select),
        new("info", -1, "KV's own facts: sections server, clients, memory, persistence, stats, keyspace", RespInfo.Run),
        new("config", -2, "CONFIG GET and SET: maxmemory(-policy), lua-time-limit, notify-keyspace-events; CONFIG HELP",
            RespConfig.Config),
        new("hello", -1, "protocol 2 (RESP2) or 3 (RESP3: nulls as _, maps as %), with AUTH and SETNAME",
            RespConnectionCommands.Hello) { BeforeAuth = true, InTransaction = false },
        new("client", -2, "CLIENT SETNAME, SETINFO, GETNAME, ID, LIST, REPLY ON|OFF|SKIP and HELP",
            RespConnectionCommands.Client),
        new("auth", -2, "AUTH password, or AUTH default password: the server's password",
            RespConnectionCommands.Auth) { BeforeAuth = true, InTransaction = false },
        new("multi", 1, "start a transaction: the commands after it are queued (+QUEUED) until EXEC",
            RespTransactions.Multi) { Immediate = true, WhileBusy = true },
        new("exec", 1,
            "run the queued commands in one step: their replies, EXECABORT, or nil when a WATCHed key changed",
            RespTransactions.Exec) { Immediate = true },
        new("discard", 1, "drop the queued commands", RespTransactions.Discard) { Immediate = true, WhileBusy = true },
        new("watch", -2, "EXEC will run only if none of these keys changes first (from either protocol)",
            RespTransactions.Watch) { Immediate = true },
        new("unwatch", 1, "forget every WATCH", RespTransactions.Unwatch) { Immediate = true },
    ];

    public const string OutOfMemory = "command not allowed when used memory > 'maxmemory'.";
    public const string Busy = "Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";

    private static readonly Lock registering = new();
    private static Lookup? lookup;

    /// <summary>
    /// Adds a feature's command to the table (its module initializer calls this, before any request): the core and
    /// RESP name no feature. A name registered twice is a bug.
    /// </summary>
    public static void Register(RespCommand command)
    {
        lock (registering)
        {
            if (all.Any(c
                => c.Name == command.Name)) throw new InvalidOperationException($"two RESP commands {command.Name}");
            all = [.. all, command];
            lookup = null;
        }
    }

    /// <summary>The names hashed, made once the table is complete (at the first request).</summary>
    private sealed class Lookup(ImmutableArray<RespCommand> commands)
    {
        public readonly FrozenDictionary<string, RespCommand>.AlternateLookup<ReadOnlySpan<char>> ByName = commands
            .ToFrozenDictionary(command => command.Name, StringComparer.OrdinalIgnoreCase)
            .GetAlternateLookup<ReadOnlySpan<char>>();
        public readonly int LongestName = commands.Max(command => command.Name.Length);
    }

    /// <summary>The table's row for a command name, any case: one hashed lookup, no allocation.</summary>
    public static RespCommand? Find(ReadOnlySpan<byte> name)
    {
        var names = lookup ??= new Lookup(all);
        if (name.Length > names.LongestName) return null;
        Span<char> chars = stackalloc char[names.LongestName];
        return Ascii.ToUtf16(name, chars, out var length) == OperationStatus.Done
            && names.ByName.TryGetValue(chars[..length], out var command) ? command : null;
    }

    /// <summary>Runs one request. Returns why the connection must close, or null.</summary>
    public static string? Execute(RespSession session, RespArguments args, IBufferWriter<byte> sent)
    {
        // CLIENT REPLY OFF, or the one request after SKIP: the reply is made, and dropped; pushes still go out.
        var quiet = session.Replies is ReplyMode.Off or ReplyMode.SkipNext;
        if (session.Replies == ReplyMode.SkipNext) session.Replies = ReplyMode.On;
        IBufferWriter<byte> output = quiet ? session.Dropped : sent;
        session.Always = sent;
        if (Find(args[0]) is not { } command)
        {
            var shown = string.Concat(Enumerable.Range(1, Math.Min(args.Count - 1,
                8)).Select(i => $"'{args.Text(i)}' "));
            RespTransactions.Refuse(session, output,
                $"unknown command '{args.Text(0)}', with args beginning with: {shown}");
            return null;
        }
        var request = new RespRequest(session, command, args, output, sent);
        session.Serve(ref request);
        return session.Closing ?? (session.Quitting ? "quit" : null);
    }

    /// <summary>A request as ClientSession.Serve asks it, in Redis's words.</summary>
    private readonly struct RespRequest(RespSession session, RespCommand command, RespArguments args,
        IBufferWriter<byte> output, IBufferWriter<byte> sent) : IServedRequest
    {
        public bool BeforeAuth => command.BeforeAuth;
        // As Redis: BUSY before anything else, and a transaction told BUSY is refused at EXEC.
        public bool Gated => !command.WhileBusy;
        public IBufferWriter<byte> Sent => sent;
        public void RefuseUnauthenticated() => RespReply.Error(output, "Authentication required.", prefix: "NOAUTH");

        public bool Admissible()
        {
            if (command.Accepts(args.Count)) return true;
            RespTransactions.Refuse(session, output, $"wrong number of arguments for '{command.Name}' command");
            return false;
        }

        public ObservedRequest Observed() => RespObserved.Of(session, args);

        public bool AnsweredBy(IConnectionMode mode) =>
            mode is IRespMode respMode && respMode.Answers(session, command, args, output);

        public void RefuseBusy() => RespTransactions.RefuseBusy(session, command, output);

        public void Run()
        {
            if (session.Transaction is not null && !command.Immediate) RespTransactions.Queue(session, command, args,
                output);
            else command.Invoke(session, args, output);
        }
    }

    /// <summary>Redis's words for a request with too few or too many arguments.</summary>
    public static void WrongArity(IBufferWriter<byte> output, string command) =>
        RespReply.Error(output, $"wrong number of arguments for '{command}' command");

    private static void Ping(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (args.Count == 1) RespReply.Pong(output);
        else if (args.Count == 2) RespReply.Bulk(output, args.Sequence(1));
        else WrongArity(output, "ping");
    }

    private static void Get(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!session.Store.TryRead(args[1], output, static (value, output) => RespReply.Bulk(output, value)))
            RespReply.Null(output, session.Protocol);
    }

    /// <summary>SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL], as Redis reads them.</summary>
    private static void Set(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var condition = SetCondition.Always;
        var returnOld = false;
        Expiry? expiry = null;
        for (var i = 3; i < args.Count; i++)
        {
            if (args.Is(i, "nx"u8) && condition == SetCondition.Always) condition = SetCondition.IfAbsent;
            else if (args.Is(i, "xx"u8) && condition == SetCondition.Always) condition = SetCondition.IfPresent;
            else if (args.Is(i, "get"u8)) returnOld = true;
            else if (expiry is null && RespExpiry.TryReadSetOption(session, args, ref i, out var read, out var error))
            {
                if (error is not null)
                {
                    RespReply.Error(output, error);
                    return;
                }
                expiry = read;
            }
            else
            {
                RespReply.Error(output, "syntax error");
                return;
            }
        }
        // Read once: a value that arrived in more than one block is copied whole each time it is read.
        var key = args[1];
        var value = args[2];
        if (RequestParser.KeyProblem(key) is { } problem)
        {
            RespReply.Error(output, problem);
            return;
        }
        byte[]? previous = null;
        var result = session.Store.SetAnnounced(key, value, condition, expiry ?? Expiry.Clear, returnOld,
            out previous, PreparedValue.Take(args.Sequence(2)));
        if (result == SetResult.OutOfMemory) RespReply.Error(output, OutOfMemory, prefix: "OOM");
        else if (returnOld)
        {
            if (previous is not null) RespReply.Bulk(output, previous);
            else RespReply.Null(output, session.Protocol);
        }
        else if (result == SetResult.Stored) RespReply.Ok(output);
        else RespReply.Null(output, session.Protocol);
    }

    private static void SetIfAbsent(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var key = args[1];
        var value = args[2];
        if (RequestParser.KeyProblem(key) is { } problem)
        {
            RespReply.Error(output, problem);
            return;
        }
        var result = session.Store.Set(key, value, SetCondition.IfAbsent);
        if (result == SetResult.Stored) session.Store.AnnounceSet(key, Expiry.Clear);
        if (result == SetResult.OutOfMemory) RespReply.Error(output, OutOfMemory, prefix: "OOM");
        else RespReply.Integer(output, result == SetResult.Stored ? 1 : 0);
    }

    private static void Keys(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (args[1].Length > RedisGlob.MaxPatternBytes)
        {
            RespReply.Error(output, $"pattern longer than {RedisGlob.MaxPatternBytes} bytes");
            return;
        }
        session.Deferred = new Listing(session.Store, RedisGlob.Compile(args[1]).Matches, RespReply.ArrayHeader,
            RespReply.Bulk).RunAsync;
    }
}
