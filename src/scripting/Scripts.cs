// src/scripting/Scripts.cs: the server's one scripting state: the interpreter and its cache, the gate every other
// request passes while a script runs (waiting, or told BUSY past --script-time-limit), the undo log, and the host a
// running script's redis.calls go through. ScriptCommands.cs runs scripts with it.

using System.Buffers;

namespace KV;

/// <summary>The server's scripting: one interpreter, its cache, the script running now.</summary>
public sealed class Scripts : IRequestGate, IScriptHost, IDisposable
{
    public static readonly FeatureOption TimeLimit = new("--script-time-limit", "5000",
        """
          --script-time-limit MS
                               a script running longer makes every other request BUSY until it ends or SCRIPT
                               KILL stops it (and undoes its writes) (default 5000)
        """,
        value => long.TryParse(value, out var ms) && ValidLimit(ms) ? null
            : $"invalid value '{value}' for --script-time-limit (expected 1 to 3600000 milliseconds)");

    /// <summary>A time limit KV takes, in milliseconds: the rule of --script-time-limit and of CONFIG SET's.</summary>
    public static bool ValidLimit(long milliseconds) => milliseconds is >= 1 and <= 3_600_000;

    /// <summary>
    /// The most the interpreter's heap may hold: what scripts build, and the scripts cached. Past it a script fails
    /// with a memory error, and the server goes on.
    /// </summary>
    public const long HeapLimit = 256L << 20;

    private readonly KeyValueStore store;
    private readonly ScriptTimeLimit limit;
    private readonly ManualResetEventSlim idle = new(true);
    private long startedAt;
    private int running;

    public LuaEngine Engine { get; }
    public ScriptUndo Undo { get; }

    public RespSession Session { get; }
    public long Killed { get; set; }

    /// <summary>The command a script called last (ScriptCommands.Called); scripts take turns, so one is kept.</summary>
    public CalledCommand? LastCalled { get; set; }

    public Scripts(RespSession caller)
    {
        store = caller.Store;
        limit = ScriptTimeLimit.Of(caller);
        Engine = new LuaEngine(HeapLimit);
        Undo = new ScriptUndo(store);
        store.Observe(Undo);
        Session = new RespSession(store, caller.Server, caller.Access, peer: null) { Name = "lua", InStep = true };
        caller.Activity.Gate = this;
    }

    public static Scripts Of(RespSession session) =>
        session.Activity.Existing<Scripts>() ?? session.Activity.Feature(_ => new Scripts(session));

    /// <summary>
    /// Where each redis.call's reply is written, reused: scripts take turns. One grown past a megabyte by a large reply
    /// is let go after its script, so that it is not held for good.
    /// </summary>
    public ArrayBufferWriter<byte> CallOutput { get; private set; } = new();

    public void TrimCallOutput()
    {
        if (CallOutput.Capacity > 1 << 20) CallOutput = new();
    }

    /// <summary>How long the script running now has run (FUNCTION STATS); zero when none does.</summary>
    public TimeSpan RunningFor => Interlocked.Read(ref startedAt) is var started and not 0 && Running
        ? TimeProvider.System.GetElapsedTime(started) : TimeSpan.Zero;

    /// <summary>Whether a script runs now, or waits for the store to run (SCRIPT KILL's NOTBUSY).</summary>
    public bool Running => Volatile.Read(ref running) > 0;

    // The run now going on (scripts take turns, inside the store's lock): where its result goes, in which protocol,
    // and whether its commands may write.
    private IBufferWriter<byte>? output;
    private int protocol;
    private bool readOnly;

    /// <summary>Runs a script or a function inside the step it is already in, as the host of its commands.</summary>
    public (string? Error, bool Killed) Execute(ScriptCommands.Execution execute, ScriptInput input,
        IBufferWriter<byte> replyTo, int replyProtocol, bool onlyReads)
    {
        (output, protocol, readOnly) = (replyTo, replyProtocol, onlyReads);
        try
        {
            return execute(Engine, input, this);
        }
        finally
        {
            output = null;
        }
    }

    public ReadOnlyMemory<byte> Command(List<ReadOnlySequence<byte>> words) =>
        ScriptCommands.Call(this, words, readOnly);

    public void Reply(KeraLua.Lua lua) => LuaReplies.Write(lua, output!, protocol);

    public bool Admit()
    {
        if (!Running) return true;
        // 0: the gate has just closed and the script's clock is not set yet; it has its whole limit ahead.
        var started = Interlocked.Read(ref startedAt);
        var allowed = TimeSpan.FromMilliseconds(limit.Milliseconds);
        var remaining = started == 0 ? allowed : allowed - TimeProvider.System.GetElapsedTime(started);
        return remaining > TimeSpan.Zero && idle.Wait(remaining) || !Running;
    }

    /// <summary>
    /// Before the script's step: the gate closes, so that requests from now on wait there, outside the store's lock,
    /// and are told BUSY once the script runs past its limit. (One that passed the gate just before waits for the
    /// lock instead, and is answered when the script ends.)
    /// </summary>
    public void Enter()
    {
        // Closed before the script is seen running: a request that sees it running waits at the gate, and does not
        // pass it on its way to the store ahead of the script (a test asserting BUSY saw that under load).
        idle.Reset();
        Interlocked.Increment(ref running);
    }

    /// <summary>Inside the step: the clock starts (after any script before it), the undo log records.</summary>
    public void Begin()
    {
        Interlocked.Exchange(ref startedAt, TimeProvider.System.GetTimestamp());
        Undo.Start();
    }

    public void Leave()
    {
        if (Interlocked.Decrement(ref running) > 0) return;
        // The next script's clock is not this one's: a request that finds the gate closing before the next sets its
        // clock would otherwise read this one's start, long past, and be told BUSY at once.
        Interlocked.Exchange(ref startedAt, 0);
        idle.Set();
    }

    public void Dispose()
    {
        Engine.Dispose();
        idle.Dispose();
    }
}

/// <summary>
/// How long a script runs before the others are told BUSY, one a server: --script-time-limit at start, CONFIG SET
/// lua-time-limit after. Kept apart from Scripts, so that CONFIG GET reads it without starting the interpreter.
/// </summary>
public sealed class ScriptTimeLimit(long milliseconds)
{
    private long milliseconds = milliseconds;

    public long Milliseconds
    {
        get => Interlocked.Read(ref milliseconds);
        set => Interlocked.Exchange(ref milliseconds, value);
    }

    public static ScriptTimeLimit Of(RespSession session) => session.Activity.Feature(_ =>
        new ScriptTimeLimit(long.Parse(session.Server.Options.Feature(Scripts.TimeLimit))));
}
