// src/scripting/ScriptRun.cs: what one run of a script or a function is given and works with: the cached script, the
// request's keys and arguments (read where they lie in the request, not copied), and the host that runs each
// redis.call and writes the result. Scripts run one at a time, so one host serves them all and nothing here is made
// again for each run.

using System.Buffers;
using KeraLua;

namespace KV;

/// <summary>A script compiled into the interpreter: its SHA1, its function's reference, its declared flags.</summary>
public sealed class CompiledScript
{
    public CompiledScript(string sha, int reference, ScriptFlags flags)
    {
        (Sha, Reference, Flags) = (sha, reference, flags);
        ShaBytes = System.Text.Encoding.ASCII.GetBytes(sha);
        Execution = (engine, input, host) => engine.Run(this, input, host);
    }

    public string Sha { get; }
    public int Reference { get; }
    public ScriptFlags Flags { get; }

    /// <summary>The SHA1 as EVALSHA names it most often: lower case ASCII.</summary>
    public byte[] ShaBytes { get; }

    /// <summary>The run of this script, made once: EVALSHA hands it on each time.</summary>
    public ScriptCommands.Execution Execution { get; }

    /// <summary>
    /// Set by SCRIPT FLUSH, inside the store's lock: a request that found the script before the flush and runs after it
    /// (both outside the lock) is told it is gone, and never calls a reference Lua may have given to something else.
    /// </summary>
    public bool Flushed { get; set; }
}

/// <summary>What runs a script's commands and takes its result (ScriptCommands' Scripts).</summary>
public interface IScriptHost
{
    /// <summary>Runs one redis.call; its RESP reply, valid until the next.</summary>
    ReadOnlyMemory<byte> Command(List<ReadOnlySequence<byte>> words);

    /// <summary>Writes the script's result, the value on top of the Lua stack.</summary>
    void Reply(Lua lua);
}

/// <summary>
/// EVAL's, EVALSHA's and FCALL's words after the script's name: `numkeys key... arg...` from index 2, of which the
/// keys become KEYS and the rest ARGV.
/// </summary>
public readonly record struct ScriptInput(RespArguments Args, int KeyCount)
{
    private const int FirstKey = 3;

    public ScriptWords Keys => new(Args, FirstKey, KeyCount);
    public ScriptWords Argv => new(Args, FirstKey + KeyCount, Args.Count - FirstKey - KeyCount);

    /// <summary>The same words in arrays of their own, for a run that happens after its request's buffer is gone.
    /// </summary>
    public ScriptInput Copy()
    {
        var words = new List<ReadOnlySequence<byte>>(Args.Count);
        for (var i = 0; i < Args.Count; i++) words.Add(new(Args[i].ToArray()));
        return new(new RespArguments(words), KeyCount);
    }
}

/// <summary>A run of the request's words: KEYS or ARGV.</summary>
public readonly record struct ScriptWords(RespArguments Args, int First, int Count)
{
    public ReadOnlySequence<byte> this[int index] => Args.Sequence(First + index);

    /// <summary>Sets t[1] to t[n] of the table on top of the stack to the words, pushed from the request's bytes.
    /// </summary>
    public void Fill(Lua lua)
    {
        for (var i = 0; i < Count; i++)
        {
            LuaNative.Push(lua, this[i]);
            lua.RawSetInteger(-2, i + 1);
        }
    }
}

/// <summary>
/// A global list a script reads (KEYS, ARGV), one table refilled for every script. A script may change it; one that
/// added anything (an element past its words, a named field) leaves it to Lua's collector, and the next script gets a
/// new table, so that nothing one script does reaches the next.
/// </summary>
public sealed class ScriptGlobalList(string name)
{
    private int table;
    private int filled;

    /// <summary>Makes the global hold exactly these words, 1 to n.</summary>
    public void Refill(Lua lua, ScriptWords words)
    {
        // Left to Lua's collector: a table a script added to, and one far larger than this run needs (a table keeps
        // its size, so the words of one large call would be held for good).
        if (table != 0 && (filled > 64 && words.Count < filled / 2 || !Untouched(lua)))
        {
            lua.Unref(LuaRegistry.Index, table);
            table = 0;
        }
        if (table == 0)
        {
            lua.CreateTable(words.Count, 0);
            lua.PushCopy(-1);
            lua.SetGlobal(name);
            table = lua.Ref(LuaRegistry.Index);
            filled = 0;
        }
        LuaNative.RawGet(lua, (int)LuaRegistry.Index, table);
        words.Fill(lua);
        for (var i = words.Count; i < filled; i++)
        {
            LuaNative.PushNil(lua);
            lua.RawSetInteger(-2, i + 1);
        }
        filled = words.Count;
        LuaNative.SetTop(lua, -2);
    }

    private bool Untouched(Lua lua)
    {
        LuaNative.RawGet(lua, (int)LuaRegistry.Index, table);
        var untouched = LuaNative.HoldsOnlyIndexes(lua, filled);
        LuaNative.SetTop(lua, -2);
        return untouched;
    }
}
