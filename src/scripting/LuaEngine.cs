// src/scripting/LuaEngine.cs: the one Lua 5.4 interpreter (KeraLua) that runs every script of a server, as Redis runs
// one: scripts take turns, each inside one step of the store, so only one ever runs.
//
// What a script can reach is set up once, in Lua (LuaEngine.Prelude.cs): the base, string, table, math and utf8
// libraries, Redis's cjson, cmsgpack and bit (LuaLibraries.cs), no io, os, debug, package, load, loadfile or dofile;
// the `redis` table; globals that cannot be written. Function libraries load and run in it too
// (LuaEngine.Functions.cs). The C# functions it calls (the `redis.call` underneath, the checks) never raise a Lua
// error themselves: Lua raises by longjmp, which must not cross .NET's frames, so they return what happened and a
// line of Lua raises it; and .NET calls into Lua only protected (PCall), for the same reason.
//
// Bounds: the heap is this file's allocator, which refuses to grow past its limit (Lua then raises "not enough
// memory" inside the script); a hook every few thousand instructions asks whether the script was killed.

#:package KeraLua@1.4.11

using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using KeraLua;

namespace KV;

public sealed partial class LuaEngine : IDisposable
{
    private readonly Lua lua;
    private readonly Heap heap;
    private readonly GCHandle heapHandle;
    // Delegates handed to native code live as long as the interpreter. The allocator is static: Lua's own finalizer
    // may close the interpreter (and free through it) after this object is gone.
    private static readonly LuaAlloc Allocator = Allocate;
    private readonly LuaFunction call, check, sha1, log, setResp;
    // Read by EVALSHA and SCRIPT EXISTS outside the store's lock; changed only inside it. Looked up by the request's
    // own characters, so that a run allocates no string for its SHA.
    private readonly ConcurrentDictionary<string, CompiledScript> compiled = [];
    private readonly ConcurrentDictionary<string, CompiledScript>.AlternateLookup<ReadOnlySpan<char>> compiledBySpan;
    private volatile CompiledScript? lastFound;
    private IScriptHost? host;
    // One redis.call at a time (scripts take turns): its arguments' list, and the bytes they are copied into, reused.
    private readonly List<ReadOnlySequence<byte>> arguments = [];
    private byte[] argumentBytes = new byte[256];

    /// <summary>
    /// The registry's references to the globals' read-only view (every script's and library's _ENV) and to the
    /// prelude's two steps of a library's load (LuaEngine.Functions.cs).
    /// </summary>
    private readonly int environment, library;

    // A script's KEYS and ARGV: the same two tables refilled for each script (a new pair each run cost four of Lua's
    // allocations and their collection).
    private readonly ScriptGlobalList keys = new("KEYS"), argv = new("ARGV");
    private volatile bool killed;
    private const string KilledMessage = "ERR Script killed by user with SCRIPT KILL... (KV undid its writes)";

    /// <summary>What redis.log writes: a level (0 to 3) and the message.</summary>
    public Action<int, string>? Log { get; set; }

    /// <summary>The RESP version redis.setresp chose for the replies of the script's commands (2 or 3).</summary>
    public int ScriptProtocol { get; private set; } = 2;

    public LuaEngine(long heapLimit)
    {
        compiledBySpan = compiled.GetAlternateLookup<ReadOnlySpan<char>>();
        heap = new Heap { Limit = heapLimit };
        heapHandle = GCHandle.Alloc(heap);
        lua = new Lua(Allocator, GCHandle.ToIntPtr(heapHandle));
        call = Call;
        check = Check;
        sha1 = Sha1;
        log = WriteLog;
        setResp = SetResp;
        lua.OpenLibs();
        lua.Register("__kv_call", call);
        lua.Register("__kv_check", check);
        lua.Register("__kv_sha1", sha1);
        lua.Register("__kv_log", log);
        lua.Register("__kv_setresp", setResp);
        if (lua.LoadBuffer(Encoding.UTF8.GetBytes(LuaLibraries.Source), "=libraries") != LuaStatus.OK
            || lua.PCall(0, 0, 0) != LuaStatus.OK)
            throw new InvalidOperationException($"KV's Lua libraries failed: {lua.ToString(-1)}");
        if (lua.LoadBuffer(Encoding.UTF8.GetBytes(Prelude), "=prelude") != LuaStatus.OK
            || lua.PCall(0, 2, 0) != LuaStatus.OK)
            throw new InvalidOperationException("the scripting prelude failed: " + lua.ToString(-1));
        library = lua.Ref(LuaRegistry.Index);
        environment = lua.Ref(LuaRegistry.Index);
    }

    /// <summary>The bytes the interpreter holds now.</summary>
    public long HeapBytes => Interlocked.Read(ref heap.Used);

    /// <summary>How many scripts are compiled and cached.</summary>
    public int Cached => compiled.Count;

    public static string Sha1Hex(ReadOnlySpan<byte> body) => Convert.ToHexStringLower(SHA1.HashData(body));

    /// <summary>The cached script with this SHA1, lower case (as Sha1Hex writes it); null when there is none.</summary>
    public CompiledScript? Find(string sha) => compiled.GetValueOrDefault(sha);

    /// <summary>The cached script with this SHA1, given in either case; null when there is none.</summary>
    public CompiledScript? Find(ReadOnlySpan<byte> sha)
    {
        // The script found last, compared byte for byte before any hashing: a client runs the same script again and
        // again. Read once, as another thread may replace it (or SCRIPT FLUSH forget it) meanwhile.
        if (lastFound is { } last && sha.SequenceEqual(last.ShaBytes)) return last;
        Span<char> lower = stackalloc char[40];
        if (sha.Length != lower.Length || Ascii.ToLower(sha, lower, out _) != OperationStatus.Done
            || !compiledBySpan.TryGetValue(lower, out var script)) return null;
        lastFound = script;
        return script;
    }

    /// <summary>Compiles the body and keeps it under its SHA1 with its flags; the script, or the compile error.
    /// </summary>
    public (CompiledScript? Script, string? Error) Compile(string sha, ScriptFlags flags, byte[] body)
    {
        if (compiled.TryGetValue(sha, out var cached)) return (cached, null);
        if (LoadSandboxed(body, "@user_script") is { } error)
            return (null, $"Error compiling script (new function): {error}");
        var script = new CompiledScript(sha, lua.Ref(LuaRegistry.Index), flags);
        compiled[sha] = script;
        return (script, null);
    }

    /// <summary>
    /// Compiles a script's or a library's code onto the stack, seeing the sandbox's view of the globals as its _ENV,
    /// never the table itself; Lua's error instead, nothing left on the stack. Text only ("t"): a precompiled chunk
    /// could break the interpreter.
    /// </summary>
    private string? LoadSandboxed(byte[] code, string name)
    {
        if (lua.LoadBuffer(code, name, "t") != LuaStatus.OK)
        {
            var error = lua.ToString(-1);
            lua.Pop(1);
            return error;
        }
        lua.RawGetInteger(LuaRegistry.Index, environment);
        lua.SetUpValue(-2, 1);
        return null;
    }

    /// <summary>Forgets every script (SCRIPT FLUSH) and gives their memory back.</summary>
    public void Flush()
    {
        lastFound = null;
        foreach (var script in compiled.Values)
        {
            script.Flushed = true;
            lua.Unref(LuaRegistry.Index, script.Reference);
        }
        compiled.Clear();
        lua.GarbageCollector(LuaGC.Collect, 0);
    }

    /// <summary>SCRIPT KILL: the running script raises an error at its next check.</summary>
    public void Kill() => killed = true;

    /// <summary>
    /// Runs a compiled script with its KEYS and ARGV (ScriptInput). The host runs each redis.call and writes the
    /// script's result from the Lua stack. Returns the error text when the script failed, and whether it was killed.
    /// </summary>
    public (string? Error, bool Killed) Run(CompiledScript script, ScriptInput input, IScriptHost host) =>
        script.Flushed ? ("NOSCRIPT No matching script. Please use EVAL.", false)
            : Run(script.Reference, (script.Sha, "user_script"), input, asArguments: false, host);

    /// <summary>
    /// Runs the Lua function at `reference`: a script, which reads KEYS and ARGV as globals, or a library's function,
    /// which is given them as its two arguments. `where` names it in an error (written only then).
    /// </summary>
    private (string? Error, bool Killed) Run(int reference, (string Name, string Kind) where, ScriptInput input,
        bool asArguments, IScriptHost runner)
    {
        killed = false;
        ScriptProtocol = 2;
        host = runner;
        try
        {
            LuaNative.SetTop(lua, 0);
            if (!asArguments)
            {
                keys.Refill(lua, input.Keys);
                argv.Refill(lua, input.Argv);
            }
            LuaNative.RawGet(lua, (int)LuaRegistry.Index, reference);
            if (asArguments)
            {
                PushList(input.Keys);
                PushList(input.Argv);
            }
            var status = lua.PCall(asArguments ? 2 : 0, 1, 0);
            // Killed, yet it ended as if not: the kill's error was raised where the script caught it (a pcall, a
            // coroutine's resume). A kill that was answered OK stops the script all the same: its writes are undone.
            if (killed) return (KilledMessage, true);
            if (status == LuaStatus.OK)
            {
                runner.Reply(lua);
                return (null, false);
            }
            return (ErrorText($"{where.Name}, on @{where.Kind}", status), false);
        }
        finally
        {
            host = null;
            LuaNative.SetTop(lua, 0);
            if (argumentBytes.Length > 1 << 20) argumentBytes = new byte[256];
            // What the script built goes back now, not at some later script's collection.
            if (HeapBytes > heap.Limit / 4) lua.GarbageCollector(LuaGC.Collect, 0);
        }
    }

    private string ErrorText(string where, LuaStatus status)
    {
        if (status == LuaStatus.ErrMem) return "ERR script used more than its memory limit (the Lua heap)";
        if (lua.Type(-1) == LuaType.Table && LuaReplies.Field(lua, -1, "err") is { } err) return err;
        var message = lua.ToString(-1) ?? "unknown error";
        return where.Length == 0 ? $"ERR {message}" : $"ERR {message} script: {where}";
    }

    /// <summary>A new table of the request's words, pushed straight from the request's bytes.</summary>
    private void PushList(ScriptWords words)
    {
        lua.CreateTable(words.Count, 0);
        words.Fill(lua);
    }

    /// <summary>
    /// `__kv_call(raise, name, args...)`: two results, whether redis.call must raise, and the reply as Lua sees it.
    /// </summary>
    private int Call(IntPtr state)
    {
        var l = At(state);
        try
        {
            var raise = LuaNative.ToBoolean(l, 1);
            var count = LuaNative.Top(l);
            if (count < 2) return Failure(l, "Please specify at least one argument for this redis lib call");
            arguments.Clear();
            var used = 0;
            for (var i = 2; i <= count; i++)
            {
                var word = LuaNative.Type(l, i) switch
                {
                    LuaType.String => LuaNative.Read(l, i, ref argumentBytes, ref used),
                    LuaType.Number => Encoding.ASCII.GetBytes(l.IsInteger(i) ? l.ToInteger(i).ToString()
                        : l.ToNumber(i).ToString("R", System.Globalization.CultureInfo.InvariantCulture)),
                    _ => (ReadOnlyMemory<byte>?)null,
                };
                if (word is null) return Failure(l, "Lua redis lib command arguments must be strings or integers");
                arguments.Add(new(word.Value));
            }
            var reply = host!.Command(arguments).Span;
            LuaNative.Push(l, raise && reply[0] == '-');
            LuaReplies.Push(l, reply, ScriptProtocol);
            return 2;
        }
        catch (Exception e)
        {
            return Failure(l, "ERR " + e.Message);
        }
    }

    /// <summary>The wrapper of the state a C function was called in: the main one, or a coroutine's.</summary>
    private Lua At(IntPtr state) => state == lua.Handle ? lua : Lua.FromIntPtr(state);

    private static int Failure(Lua l, string message)
    {
        l.PushBoolean(true);
        LuaReplies.PushError(l, message.StartsWith("ERR ") ? message : "ERR " + message);
        return 2;
    }

    /// <summary>`__kv_check()`: the reason to stop the script, or nothing.</summary>
    private int Check(IntPtr state)
    {
        if (quiet) return 0;
        if (loadDeadline != 0 && System.Diagnostics.Stopwatch.GetTimestamp() > loadDeadline)
        {
            At(state).PushString("ERR FUNCTION LOAD timeout");
            return 1;
        }
        if (!killed) return 0;
        At(state).PushString(KilledMessage);
        return 1;
    }

    private int Sha1(IntPtr state)
    {
        var l = At(state);
        // Nothing to hash: nil, and the line of Lua in redis.sha1hex raises the error.
        if (l.Type(1) is LuaType.String or LuaType.Number) l.PushString(Sha1Hex(l.ToBuffer(1)));
        else l.PushNil();
        return 1;
    }

    private int WriteLog(IntPtr state)
    {
        var l = At(state);
        var level = (int)l.ToInteger(1);
        var parts = Enumerable.Range(2, Math.Max(0, l.GetTop() - 1)).Select(i => l.ToString(i) ?? "");
        Log?.Invoke(level, string.Join(' ', parts));
        return 0;
    }

    private int SetResp(IntPtr state)
    {
        var l = At(state);
        var version = l.ToInteger(1);
        if (version is not (2 or 3))
        {
            l.PushString("RESP version must be 2 or 3.");
            return 1;
        }
        ScriptProtocol = (int)version;
        return 0;
    }

    /// <summary>
    /// Lua's allocator: realloc, counted. Growth past the limit is refused (Lua raises its memory error inside the
    /// script, which fails); shrinking and freeing always succeed, as Lua requires.
    /// </summary>
    private static IntPtr Allocate(IntPtr ud, IntPtr pointer, UIntPtr oldSize, UIntPtr newSize)
    {
        var heap = (Heap)GCHandle.FromIntPtr(ud).Target!;
        // For a new block, Lua passes the kind of object in oldSize, not a size.
        var old = pointer == IntPtr.Zero ? 0 : (long)oldSize;
        if (newSize == 0)
        {
            if (pointer != IntPtr.Zero) Marshal.FreeHGlobal(pointer);
            Interlocked.Add(ref heap.Used, -old);
            return IntPtr.Zero;
        }
        var growth = (long)newSize - old;
        if (growth > 0 && heap.Used + growth > heap.Limit) return IntPtr.Zero;
        try
        {
            var moved = pointer == IntPtr.Zero ? Marshal.AllocHGlobal((nint)newSize)
                : Marshal.ReAllocHGlobal(pointer, (nint)newSize);
            Interlocked.Add(ref heap.Used, growth);
            return moved;
        }
        catch (OutOfMemoryException)
        {
            return IntPtr.Zero;
        }
    }

    /// <summary>What the interpreter's heap holds, and may hold.</summary>
    private sealed class Heap
    {
        public long Used;
        public long Limit;
    }

    public void Dispose()
    {
        lua.Dispose();
        heapHandle.Free();
    }

    /// <summary>
    /// Set up once: the sandbox, the `redis` table over the C# functions, the kill check, read-only globals.
    /// </summary>
}
