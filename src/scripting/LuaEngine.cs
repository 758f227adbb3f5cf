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
    // Read by EVALSHA and SCRIPT EXISTS outside the store's lock; changed only inside it.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> compiled = [];
    private Func<List<ReadOnlySequence<byte>>, ReadOnlyMemory<byte>>? runCommand;
    // One redis.call at a time (scripts take turns): its arguments' list is reused.
    private readonly List<ReadOnlySequence<byte>> arguments = [];

    /// <summary>
    /// The registry's references to the globals' read-only view (every script's and library's _ENV) and to the
    /// prelude's two steps of a library's load (LuaEngine.Functions.cs).
    /// </summary>
    private readonly int environment, library;
    private volatile bool killed;

    /// <summary>What redis.log writes: a level (0 to 3) and the message.</summary>
    public Action<int, string>? Log { get; set; }

    /// <summary>The RESP version redis.setresp chose for the replies of the script's commands (2 or 3).</summary>
    public int ScriptProtocol { get; private set; } = 2;

    public LuaEngine(long heapLimit)
    {
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

    public bool IsCached(string sha) => compiled.ContainsKey(sha);

    /// <summary>Compiles the body and keeps it under its SHA1; null, or the compile error.</summary>
    public string? Compile(string sha, byte[] body)
    {
        if (compiled.ContainsKey(sha)) return null;
        if (LoadSandboxed(body, "@user_script") is { } error) return $"Error compiling script (new function): {error}";
        compiled[sha] = lua.Ref(LuaRegistry.Index);
        return null;
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
        foreach (var reference in compiled.Values) lua.Unref(LuaRegistry.Index, reference);
        compiled.Clear();
        lua.GarbageCollector(LuaGC.Collect, 0);
    }

    /// <summary>SCRIPT KILL: the running script raises an error at its next check.</summary>
    public void Kill() => killed = true;

    /// <summary>
    /// Runs a compiled script with its KEYS and ARGV. `command` runs one redis.call and gives its RESP reply (valid
    /// until the next call). `reply` receives the script's result on the Lua stack (LuaReplies writes it).
    /// Returns the error text when the script failed, and whether it was killed.
    /// </summary>
    public (string? Error, bool Killed) Run(string sha, List<byte[]> keys, List<byte[]> argv,
        Func<List<ReadOnlySequence<byte>>, ReadOnlyMemory<byte>> command, Action<Lua> reply) =>
        Run(compiled[sha], (sha, "user_script"), keys, argv, asArguments: false, command, reply);

    /// <summary>
    /// Runs the Lua function at `reference`: a script, which reads KEYS and ARGV as globals, or a library's function,
    /// which is given them as its two arguments. `where` names it in an error (written only then).
    /// </summary>
    private (string? Error, bool Killed) Run(int reference, (string Name, string Kind) where, List<byte[]> keys,
        List<byte[]> argv,
        bool asArguments, Func<List<ReadOnlySequence<byte>>, ReadOnlyMemory<byte>> command, Action<Lua> reply)
    {
        killed = false;
        ScriptProtocol = 2;
        runCommand = command;
        try
        {
            lua.SetTop(0);
            if (!asArguments)
            {
                SetGlobalList("KEYS", keys);
                SetGlobalList("ARGV", argv);
            }
            lua.RawGetInteger(LuaRegistry.Index, reference);
            if (asArguments)
            {
                PushList(keys);
                PushList(argv);
            }
            var status = lua.PCall(asArguments ? 2 : 0, 1, 0);
            if (status == LuaStatus.OK)
            {
                reply(lua);
                return (null, false);
            }
            return (ErrorText($"{where.Name}, on @{where.Kind}", status), killed);
        }
        finally
        {
            runCommand = null;
            lua.SetTop(0);
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

    private void SetGlobalList(string name, List<byte[]> items)
    {
        lua.PushGlobalTable();
        lua.PushString(name);
        PushList(items);
        lua.RawSet(-3);
        lua.Pop(1);
    }

    private void PushList(List<byte[]> items)
    {
        lua.CreateTable(items.Count, 0);
        for (var i = 0; i < items.Count; i++)
        {
            lua.PushBuffer(items[i]);
            lua.RawSetInteger(-2, i + 1);
        }
    }

    /// <summary>
    /// `__kv_call(raise, name, args...)`: two results, whether redis.call must raise, and the reply as Lua sees it.
    /// </summary>
    private int Call(IntPtr state)
    {
        var l = At(state);
        try
        {
            var raise = l.ToBoolean(1);
            var count = l.GetTop();
            if (count < 2) return Failure(l, "Please specify at least one argument for this redis lib call");
            arguments.Clear();
            for (var i = 2; i <= count; i++)
            {
                switch (l.Type(i))
                {
                    case LuaType.String: arguments.Add(new(l.ToBuffer(i, callMetamethod: false))); break;
                    case LuaType.Number:
                        arguments.Add(new(Encoding.ASCII.GetBytes(l.IsInteger(i) ? l.ToInteger(i).ToString()
                            : l.ToNumber(i).ToString("R", System.Globalization.CultureInfo.InvariantCulture))));
                        break;
                    default: return Failure(l, "Lua redis lib command arguments must be strings or integers");
                }
            }
            var reply = runCommand!(arguments).Span;
            l.PushBoolean(raise && reply[0] == '-');
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
        At(state).PushString("ERR Script killed by user with SCRIPT KILL... (KV undid its writes)");
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
