// src/resp/RespCommands.cs: the commands KV answers over RESP, one table, each row a name, Redis's arity, a
// summary and the code that runs it against the same store as KV's own protocol.
//
// Replies use Redis's types and, where Redis has one, its wording. What is stored must be something KV's
// own protocol could carry back (RequestParser.KeyProblem, ValueProblem): a pair set over RESP reads back
// exactly over KV's protocol, and the reverse. Arguments that are not stored (ECHO's, PING's) are bytes.

using System.Buffers;
using System.Collections.Immutable;
using System.Text;

namespace KV;

/// <summary>One row of the RESP table. Arity counts the name, as Redis's does: 2 is exactly one argument, -2 at least one.</summary>
public sealed record RespCommand(string Name, int Arity, string Summary, Action<RespSession, RespArguments, IBufferWriter<byte>> Run)
{
    public ReadOnlyMemory<byte> NameUtf8 { get; } = Encoding.ASCII.GetBytes(Name);

    /// <summary>Served before the password is given: KV's own list (auth, ping, and QUIT for exit), plus HELLO, which may carry AUTH.</summary>
    public bool BeforeAuth { get; init; }

    public bool Accepts(int count) => Arity >= 0 ? count == Arity : count >= -Arity;
}

/// <summary>The arguments of one request, the command name first; slices of the input buffer, read as bytes.</summary>
public readonly struct RespArguments(List<ReadOnlySequence<byte>> items)
{
    public int Count => items.Count;
    public ReadOnlySequence<byte> Sequence(int index) => items[index];
    public ReadOnlySpan<byte> this[int index] => items[index].IsSingleSegment ? items[index].FirstSpan : items[index].ToArray();
    public bool Is(int index, ReadOnlySpan<byte> word) => Ascii.EqualsIgnoreCase(this[index], word);
    public string Text(int index) => Errors.Echo(this[index]);
}

/// <summary>One RESP client: what every client has, and what Redis keeps per client.</summary>
public sealed class RespSession(KeyValueStore store, IServerFacts server, ConnectionAccess access, System.Net.EndPoint? peer)
    : ClientSession(store, server, access, peer)
{
    public string? Name { get; set; }
    public bool Quitting { get; set; }
}

public static class RespCommands
{
    public static readonly ImmutableArray<RespCommand> All =
    [
        new("ping", -1, "PONG, or the message given, as it came", Ping) { BeforeAuth = true },
        new("echo", 2, "the message, byte for byte", (_, args, output) => RespReply.Bulk(output, args.Sequence(1))),
        new("get", 2, "the value, or nil", Get),
        new("set", -3, "store a value; NX only if absent, XX only if present, GET returns the old value", Set),
        new("setnx", 3, "store a value only if the key is absent: 1 if stored, 0 if not", SetIfAbsent),
        new("del", -2, "delete keys: how many existed", Delete),
        new("unlink", -2, "the same as DEL (KV frees memory at once)", Delete),
        new("exists", -2, "how many of the keys exist", Exists),
        new("setex", 4, "SETEX key seconds value: SET with EX", RespExpiry.SetEx),
        new("psetex", 4, "PSETEX key milliseconds value: SET with PX", RespExpiry.PSetEx),
        new("expire", -3, "a deadline in seconds from now [NX|XX|GT|LT]: 1 if set, 0 if not; a past one deletes the key", RespExpiry.Expire),
        new("pexpire", -3, "a deadline in milliseconds from now [NX|XX|GT|LT]", RespExpiry.Expire),
        new("expireat", -3, "a deadline as a Unix time in seconds [NX|XX|GT|LT]", RespExpiry.Expire),
        new("pexpireat", -3, "a deadline as a Unix time in milliseconds [NX|XX|GT|LT]", RespExpiry.Expire),
        new("ttl", 2, "seconds left: -1 without a deadline, -2 without the key", RespExpiry.TimeToLive),
        new("pttl", 2, "milliseconds left: -1 without a deadline, -2 without the key", RespExpiry.TimeToLive),
        new("expiretime", 2, "the deadline as a Unix time in seconds: -1, -2 as TTL", RespExpiry.TimeToLive),
        new("pexpiretime", 2, "the deadline as a Unix time in milliseconds", RespExpiry.TimeToLive),
        new("persist", 2, "remove the deadline: 1 if there was one, 0 if not", RespExpiry.Persist),
        new("incr", 2, "add 1 to the integer at the key (a missing key counts from 0): the new value", RespCounters.Incr),
        new("incrby", 3, "add an amount to the integer at the key: the new value", RespCounters.IncrBy),
        new("decr", 2, "subtract 1 from the integer at the key: the new value", RespCounters.Decr),
        new("decrby", 3, "subtract an amount from the integer at the key: the new value", RespCounters.DecrBy),
        new("keys", 2, "every key matching a Redis glob, sorted as `list` sorts (done in slices: it holds no one up)", Keys),
        new("dbsize", 1, "how many keys there are", (session, _, output) => RespReply.Integer(output, session.Store.Count)),
        new("quit", 1, "OK, then the server closes the connection", Quit) { BeforeAuth = true },
        new("select", 2, "database 0 is the only one", Select),
        new("info", -1, "KV's own facts: sections server, clients, memory, persistence, stats, keyspace", RespInfo.Run),
        new("monitor", 1, "+OK, then every request from any client, in Redis's format, until this client sends again", RespMonitor.Monitor),
        new("config", -2, "CONFIG GET save and appendonly: what KV does (no persistence)", Config),
        new("hello", -1, "protocol 2 (RESP2); 3 is refused, so clients stay on RESP2", Hello) { BeforeAuth = true },
        new("client", -2, "CLIENT SETNAME, SETINFO, GETNAME and ID", Client),
        new("auth", -2, "AUTH password, or AUTH default password: the server's password", Auth) { BeforeAuth = true },
    ];

    public const string OutOfMemory = "command not allowed when used memory > 'maxmemory'.";

    public static RespCommand? Find(ReadOnlySpan<byte> name)
    {
        foreach (var command in All)
            if (Ascii.EqualsIgnoreCase(name, command.NameUtf8.Span)) return command;
        return null;
    }

    /// <summary>Runs one request. Returns why the connection must close, or null.</summary>
    public static string? Execute(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (Find(args[0]) is not { } command)
        {
            var shown = string.Concat(Enumerable.Range(1, Math.Min(args.Count - 1, 8)).Select(i => $"'{args.Text(i)}' "));
            RespReply.Error(output, $"unknown command '{args.Text(0)}', with args beginning with: {shown}");
            return null;
        }
        if (!session.Access.Authenticated && !command.BeforeAuth)
        {
            RespReply.Error(output, "Authentication required.", prefix: "NOAUTH");
            return null;
        }
        if (!command.Accepts(args.Count))
        {
            WrongArity(output, command.Name);
            return null;
        }
        var activity = session.Activity;
        activity.RequestServed();
        if (activity.Monitors.Anyone) activity.Monitors.Publish(RespMonitor.EventOf(session, args));
        command.Run(session, args, output);
        return session.Quitting ? "quit" : null;
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
        if (!session.Store.TryRead(args[1], output, static (value, output) => RespReply.Bulk(output, value))) RespReply.Null(output);
    }

    /// <summary>SET key value [NX|XX] [GET]; the expiry options are refused, since KV keeps no expiry.</summary>
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
        if (StoreProblem(key, value) is { } problem)
        {
            RespReply.Error(output, problem);
            return;
        }
        byte[]? previous = null;
        var result = returnOld ? session.Store.Set(key, value, condition, expiry ?? Expiry.Clear, out previous) : session.Store.Set(key, value, condition, expiry ?? Expiry.Clear);
        if (result == SetResult.OutOfMemory) RespReply.Error(output, OutOfMemory, prefix: "OOM");
        else if (returnOld)
        {
            if (previous is not null) RespReply.Bulk(output, previous);
            else RespReply.Null(output);
        }
        else if (result == SetResult.Stored) RespReply.Ok(output);
        else RespReply.Null(output);
    }

    private static void SetIfAbsent(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var key = args[1];
        var value = args[2];
        if (StoreProblem(key, value) is { } problem)
        {
            RespReply.Error(output, problem);
            return;
        }
        var result = session.Store.Set(key, value, SetCondition.IfAbsent);
        if (result == SetResult.OutOfMemory) RespReply.Error(output, OutOfMemory, prefix: "OOM");
        else RespReply.Integer(output, result == SetResult.Stored ? 1 : 0);
    }

    public static string? StoreProblem(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) =>
        RequestParser.KeyProblem(key) ?? RequestParser.ValueProblem(value);

    private static void Delete(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var removed = 0;
        for (var i = 1; i < args.Count; i++) if (session.Store.Remove(args[i])) removed++;
        RespReply.Integer(output, removed);
    }

    private static void Exists(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var found = 0;
        for (var i = 1; i < args.Count; i++) if (session.Store.Contains(args[i])) found++;
        RespReply.Integer(output, found);
    }

    private static void Keys(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (args[1].Length > RedisGlob.MaxPatternBytes)
        {
            RespReply.Error(output, $"pattern longer than {RedisGlob.MaxPatternBytes} bytes");
            return;
        }
        session.Deferred = new Listing(session.Store, RedisGlob.Compile(args[1]), RespReply.ArrayHeader, RespReply.Bulk).RunAsync;
    }

    private static void Quit(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        session.Quitting = true;
        RespReply.Ok(output);
    }

    private static void Select(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!long.TryParse(args[1], out var index)) RespReply.Error(output, "value is not an integer or out of range");
        else if (index != 0) RespReply.Error(output, "DB index is out of range");
        else RespReply.Ok(output);
    }

    /// <summary>What redis-benchmark and client libraries ask at connect: KV saves nothing to disk.</summary>
    private static readonly (string Name, string Value)[] Configuration = [("save", ""), ("appendonly", "no")];

    private static void Config(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!args.Is(1, "get"u8))
        {
            RespReply.Error(output, $"unknown subcommand '{args.Text(1)}'. Try CONFIG HELP.");
            return;
        }
        if (args.Count < 3)
        {
            WrongArity(output, "config|get");
            return;
        }
        var patterns = Enumerable.Range(2, args.Count - 2).Select(i => Encoding.UTF8.GetBytes(args.Text(i).ToLowerInvariant())).ToList();
        var matching = Configuration.Where(c => patterns.Any(p => RedisGlob.Matches(p, Encoding.UTF8.GetBytes(c.Name)))).ToList();
        RespReply.ArrayHeader(output, matching.Count * 2);
        foreach (var (name, value) in matching)
        {
            RespReply.Bulk(output, name);
            RespReply.Bulk(output, value);
        }
    }

    private static void Hello(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var version = 2L;
        if (args.Count > 1 && !long.TryParse(args[1], out version))
        {
            RespReply.Error(output, "Protocol version is not an integer or out of range");
            return;
        }
        if (version != 2)
        {
            RespReply.Error(output, "unsupported protocol version", prefix: "NOPROTO");
            return;
        }
        // HELLO 2 [AUTH username password] [SETNAME name]
        (byte[] User, byte[] Password)? auth = null;
        string? name = null;
        for (var i = 2; i < args.Count; i++)
        {
            if (args.Is(i, "auth"u8) && i + 2 < args.Count)
            {
                auth = (args[i + 1].ToArray(), args[i + 2].ToArray());
                i += 2;
            }
            else if (args.Is(i, "setname"u8) && i + 1 < args.Count)
            {
                if (NameProblem(args[++i]) is { } problem)
                {
                    RespReply.Error(output, problem);
                    return;
                }
                name = args.Text(i);
            }
            else
            {
                RespReply.Error(output, "syntax error");
                return;
            }
        }
        if (auth is not { } given) Greet(session, name, output);
        else session.Deferred = async context =>
        {
            if (await TryAuthenticateAsync(session, given.User, given.Password, context)) Greet(session, name, context.Output);
            return null;
        };
    }

    /// <summary>HELLO's reply, once the client is known.</summary>
    private static void Greet(RespSession session, string? name, IBufferWriter<byte> output)
    {
        if (!session.Access.Authenticated)
        {
            RespReply.Error(output, "HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time", prefix: "NOAUTH");
            return;
        }
        if (name is not null) session.Name = name;
        RespReply.ArrayHeader(output, 12);
        RespReply.Bulk(output, "server");
        RespReply.Bulk(output, "kv");
        RespReply.Bulk(output, "proto");
        RespReply.Integer(output, 2);
        RespReply.Bulk(output, "id");
        RespReply.Integer(output, session.Id);
        RespReply.Bulk(output, "mode");
        RespReply.Bulk(output, "standalone");
        RespReply.Bulk(output, "role");
        RespReply.Bulk(output, "master");
        RespReply.Bulk(output, "modules");
        RespReply.EmptyArray(output);
    }

    /// <summary>The longest connection name: a name is kept for the connection's life, so it is bounded like anything a client makes the server hold.</summary>
    public const int MaxNameBytes = 256;

    /// <summary>Redis's rule (no spaces, line breaks or other characters outside '!' to '~'), and KV's bound on the length.</summary>
    private static string? NameProblem(ReadOnlySpan<byte> name) =>
        name.Length > MaxNameBytes ? $"Client names are limited to {MaxNameBytes} bytes"
        : name.IndexOfAnyExceptInRange((byte)'!', (byte)'~') >= 0 ? "Client names cannot contain spaces, newlines or special characters."
        : null;

    private static void Client(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (args.Is(1, "id"u8) && args.Count == 2) RespReply.Integer(output, session.Id);
        else if (args.Is(1, "setname"u8) && args.Count == 3)
        {
            if (NameProblem(args[2]) is { } problem) RespReply.Error(output, problem);
            else
            {
                session.Name = args[2].IsEmpty ? null : Encoding.ASCII.GetString(args[2]);
                RespReply.Ok(output);
            }
        }
        else if (args.Is(1, "getname"u8) && args.Count == 2)
        {
            if (session.Name is { } name) RespReply.Bulk(output, name);
            else RespReply.Null(output);
        }
        else if (args.Is(1, "setinfo"u8) && args.Count == 4) RespReply.Ok(output);
        else RespReply.Error(output, $"unknown subcommand or wrong number of arguments for '{args.Text(1)}'. Try CLIENT HELP.");
    }

    /// <summary>AUTH password, or AUTH default password (Redis 6's form, with its only user).</summary>
    private static void Auth(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (args.Count > 3)
        {
            RespReply.Error(output, "syntax error");
            return;
        }
        var user = args.Count == 3 ? args[1].ToArray() : "default"u8.ToArray();
        var password = args[^1].ToArray();
        session.Deferred = async context =>
        {
            if (await TryAuthenticateAsync(session, user, password, context)) RespReply.Ok(context.Output);
            return null;
        };
    }

    /// <summary>True when admitted, at the address's turn; otherwise the refusal is written, in Redis's words where Redis has them.</summary>
    private static async ValueTask<bool> TryAuthenticateAsync(RespSession session, byte[] user, byte[] password, IReplyContext context)
    {
        switch (await session.Access.TryAsync(password, knownUser: Ascii.EqualsIgnoreCase(user, "default"u8), context.Cancellation))
        {
            case AuthResult.Admitted:
                return true;
            case AuthResult.NoPassword:
                RespReply.Error(context.Output, "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
                return false;
            case AuthResult.TooManyAttempts:
                RespReply.Error(context.Output, Errors.TooManyAttempts);
                return false;
            default:
                RespReply.Error(context.Output, "invalid username-password pair or user is disabled.", prefix: "WRONGPASS");
                return false;
        }
    }
}
