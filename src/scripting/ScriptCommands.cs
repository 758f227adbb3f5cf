// src/scripting/ScriptCommands.cs: EVAL, EVALSHA, their read-only forms, and SCRIPT LOAD|EXISTS|FLUSH|KILL, with
// Redis's replies, run with the server's one Scripts (Scripts.cs: the interpreter, the gate, the undo log).
//
// A script is one step of the store (Atomically): no other request reads or writes between its commands, in any
// threading model. Its commands are RESP's own rows, run against a session of its own, their replies read back
// into Lua. While a script runs, every other request waits at the gate (ServerActivity.Gate), outside the store's
// lock; once it has run past --script-time-limit they are answered BUSY instead, except SCRIPT KILL, which stops
// it and undoes what it wrote, so that a script is all or nothing even when stopped.

using System.Buffers;
using System.Text;

namespace KV;

/// <summary>A command a script calls: its row, whether scripts are refused it, whether it writes.</summary>
public sealed record CalledCommand(RespCommand Row, bool Refused, bool Writes);

public static class ScriptCommands
{
    /// <summary>
    /// Commands a script may not call: those answered apart, those that end or change a connection, and the blocking
    /// pops Redis 7.0 refuses in a script (its BLMPOP and BZMPOP answer at once instead).
    /// </summary>
    private static readonly HashSet<string> NotFromScripts =
    [
        "eval", "evalsha", "eval_ro", "evalsha_ro", "script", "multi", "exec", "discard", "watch", "unwatch",
        "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "monitor", "auth", "hello", "quit", "client",
        "function", "fcall", "fcall_ro",
        "flushdb", "flushall", "keys", "scan", "select", "blpop", "brpop", "brpoplpush", "blmove", "bzpopmin",
        "bzpopmax",
    ];

    /// <summary>The commands that write, refused in EVAL_RO and EVALSHA_RO.</summary>
    private static readonly HashSet<string> Writes =
    [
        "set", "setnx", "setex", "psetex", "del", "unlink", "mset", "msetnx", "getdel", "getset", "getex", "append",
        "rename", "renamenx", "copy", "expire", "pexpire", "expireat", "pexpireat", "persist", "incr", "incrby",
        "decr", "decrby", "incrbyfloat", "publish",
    ];

    /// <summary>EVAL script numkeys [key ...] [arg ...] (and EVAL_RO).</summary>
    public static void Eval(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var scripts = Scripts.Of(session);
        var body = args[1].ToArray();
        var sha = LuaEngine.Sha1Hex(body);
        var (script, error) = Compile(session, scripts, sha, body);
        if (error is not null) RespReply.Error(output, error);
        else Run(session, scripts, script!.Flags, args, output, readOnly: args.Is(0, "eval_ro"u8), script.Execution);
    }

    /// <summary>
    /// Compiles and caches the script, unless it is cached already, with the flags its first line declares; the
    /// script, or the error.
    /// </summary>
    private static (CompiledScript? Script, string? Error) Compile(RespSession session, Scripts scripts, string sha,
        byte[] body)
    {
        if (scripts.Engine.Find(sha) is { } cached) return (cached, null);
        var (flags, start, problem) = ScriptShebang.Read(body);
        if (problem is not null) return (null, problem);
        return session.Store.Atomically((scripts, sha, flags, code: body[start..]),
            static s => s.scripts.Engine.Compile(s.sha, s.flags, s.code));
    }

    /// <summary>EVALSHA sha1 numkeys [key ...] [arg ...] (and EVALSHA_RO).</summary>
    public static void EvalSha(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var scripts = Scripts.Of(session);
        if (scripts.Engine.Find(args[1]) is not { } script) RespReply.Error(output,
            "No matching script. Please use EVAL.", prefix: "NOSCRIPT");
        else Run(session, scripts, script.Flags, args, output, readOnly: args.Is(0, "evalsha_ro"u8), script.Execution);
    }

    /// <summary>What runs a script or a function inside its step: the engine's Run or Call, given its words and host.
    /// </summary>
    public delegate (string? Error, bool Killed) Execution(LuaEngine engine, ScriptInput input, IScriptHost host);

    /// <summary>
    /// EVAL's, EVALSHA's and FCALL's common part: the flags' checks, the keys and args, then the step (deferred on an
    /// event loop). `notNumber` is the error for a count of keys that is not a number.
    /// </summary>
    public static void Run(RespSession session, Scripts scripts, ScriptFlags flags, RespArguments args,
        IBufferWriter<byte> output, bool readOnly, Execution execute,
        string notNumber = "value is not an integer or out of range")
    {
        readOnly |= flags.HasFlag(ScriptFlags.NoWrites);
        if (flags.HasFlag(ScriptFlags.Declared) && !flags.HasFlag(ScriptFlags.AllowOom) && !readOnly
            && session.Store.Full)
        {
            RespReply.Error(output, "allow-oom flag is not set on the script, can not run it when used memory > "
                + "'maxmemory'", prefix: "OOM");
            return;
        }
        if (!RequestParser.TryParseInteger(args[2], out var numKeys) || numKeys < 0)
        {
            RespReply.Error(output, numKeys < 0 && RequestParser.TryParseInteger(args[2], out _)
                ? "Number of keys can't be negative" : notNumber);
            return;
        }
        if (numKeys > args.Count - 3)
        {
            RespReply.Error(output, "Number of keys can't be greater than number of args");
            return;
        }
        var input = new ScriptInput(args, (int)numKeys);
        // On an event loop, answered apart (the loops model runs it on the pool): a loop that ran a long script
        // would leave its other connections, SCRIPT KILL among them, unread. Any other thread runs it at once, and so
        // does EXEC, whose step the script is part of. Answered apart, it outlives the request's bytes: its words are
        // copied.
        if (!ThreadingModels.ServesByTurns || session.InStep)
            Run(session, scripts, execute, input, output, readOnly);
        else
        {
            var kept = input.Copy();
            session.Deferred = context =>
            {
                Run(session, scripts, execute, kept, context.Output, readOnly);
                return ValueTask.FromResult<string?>(null);
            };
        }
    }

    private static void Run(RespSession session, Scripts scripts, Execution execute, ScriptInput input,
        IBufferWriter<byte> output, bool readOnly)
    {
        // The result is as large as the script makes it: the connection's output counts it against the clients'
        // budget as it is written, and past it the connection is closed with the reason.
        scripts.Enter();
        try
        {
            session.Store.Atomically((session, scripts, execute, input, output, readOnly), static s =>
            {
                s.scripts.Begin();
                try
                {
                    var (error, killed) = s.scripts.Execute(s.execute, s.input, s.output, s.session.Protocol,
                        s.readOnly);
                    if (killed)
                    {
                        s.scripts.Undo.Undo();
                        s.scripts.Killed++;
                    }
                    if (error is not null)
                        RespReply.Line(s.output, '-', error);
                }
                finally
                {
                    s.scripts.Undo.Stop();
                    s.scripts.TrimCallOutput();
                }
            });
        }
        finally
        {
            scripts.Leave();
        }
    }

    /// <summary>One redis.call: the command run as RESP's table runs it; whether it failed, and its reply.</summary>
    public static ReadOnlyMemory<byte> Call(Scripts scripts, List<ReadOnlySequence<byte>> command, bool readOnly)
    {
        var session = scripts.Session;
        session.Protocol = scripts.Engine.ScriptProtocol;
        if (Called(scripts, command[0].FirstSpan) is not { } called)
            return Refused("Unknown Redis command called from script");
        var (row, refused, writes) = called;
        if (refused) return Refused("This Redis command is not allowed from script");
        if (readOnly && writes) return Refused("Write commands are not allowed from read-only scripts.");
        var args = new RespArguments(command);
        if (!row.Accepts(args.Count)) return Refused("Wrong number of args calling Redis command from script");
        // A stream read may wait, but never in a script, as Redis refuses it (its BLOCK is looked for as Redis does).
        if (row.Name is "xread" or "xreadgroup" && Enumerable.Range(1, args.Count - 1).Any(i => args.Is(i, "block"u8)))
            return Refused($"{row.Name} command is not allowed with BLOCK option from scripts");
        // Monitors see a script's commands too, from the client `lua`, as Redis shows them.
        var observers = session.Activity.Observers;
        if (observers.Anyone) observers.Publish(RespObserved.Of(session, args, "lua"));
        var output = scripts.CallOutput;
        output.ResetWrittenCount();
        row.Invoke(session, args, output);
        if (session.TakeDeferred() is not null) return Refused("This Redis command is not allowed from script");
        return output.WrittenMemory;
    }

    /// <summary>
    /// The row a script's command names, with whether scripts may call it and whether it writes. The last one found is
    /// kept, and a name that matches it byte for byte is not looked up again: a script calls a few commands, often.
    /// </summary>
    private static CalledCommand? Called(Scripts scripts, ReadOnlySpan<byte> name)
    {
        if (scripts.LastCalled is { } last && name.SequenceEqual(last.Row.NameUtf8.Span)) return last;
        if (RespCommands.Find(name) is not { } row) return null;
        return scripts.LastCalled = new(row, NotFromScripts.Contains(row.Name),
            row.Writes || Writes.Contains(row.Name));
    }

    private static ReadOnlyMemory<byte> Refused(string message) => Encoding.UTF8.GetBytes($"-ERR {message}\r\n");

    /// <summary>
    /// SCRIPT KILL and FUNCTION KILL: the running script or function stops at its next check, and its writes are
    /// undone (where Redis refuses a script that wrote, UNKILLABLE, and tells the two kinds apart).
    /// </summary>
    public static void Kill(Scripts scripts, IBufferWriter<byte> output)
    {
        if (!scripts.Running) RespReply.Error(output, "No scripts in execution right now.", prefix: "NOTBUSY");
        else
        {
            scripts.Engine.Kill();
            RespReply.Ok(output);
        }
    }

    /// <summary>SCRIPT LOAD|EXISTS|FLUSH|KILL|HELP.</summary>
    public static void Script(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var scripts = Scripts.Of(session);
        if (args.Is(1, "kill"u8) && args.Count == 2) Kill(scripts, output);
        else if (args.Is(1, "load"u8) && args.Count == 3)
        {
            var body = args[2].ToArray();
            var sha = LuaEngine.Sha1Hex(body);
            if (Compile(session, scripts, sha, body).Error is { } error) RespReply.Error(output, error);
            else RespReply.Bulk(output, sha);
        }
        else if (args.Is(1, "exists"u8) && args.Count >= 3)
        {
            RespReply.ArrayHeader(output, args.Count - 2);
            for (var i = 2; i < args.Count; i++)
                RespReply.Integer(output, scripts.Engine.Find(args[i]) is null ? 0 : 1);
        }
        else if (args.Is(1, "flush"u8) && args.Count <= 3)
        {
            session.Store.Atomically(scripts, static s => s.Engine.Flush());
            RespReply.Ok(output);
        }
        else if (args.Is(1, "help"u8))
        {
            RespReply.Help(output,
                "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "EXISTS <sha1> [<sha1> ...]", "    Return information about the existence of the scripts in the cache.",
                "FLUSH [ASYNC|SYNC]", "    Flush the Lua scripts cache.",
                "KILL", "    Kill the currently executing Lua script, and undo what it wrote.",
                "LOAD <script>", "    Load a script into the scripts cache without executing it.");
        }
        else RespReply.UnknownSubcommand(output, args.Text(1), "SCRIPT");
    }
}
