// src/scripting/LuaNative.cs: the interpreter's C calls that every script run makes, declared here instead of taken
// through KeraLua, for two savings:
// - bytes without an array made for each: a request's word pushed as a Lua string from where it lies, a Lua string
//   read into a buffer the caller reuses (KeraLua's PushBuffer and ToBuffer take and make a new array every time);
// - calls that neither allocate nor run Lua code (so never call back into .NET through the allocator or a C function)
//   made without the runtime's transition to native code (SuppressGCTransition), which costs more than they do.
// Everything else goes through KeraLua's Lua object as before.

using System.Buffers;
using System.Runtime.InteropServices;
using KeraLua;

namespace KV;

public static class LuaNative
{
    // KeraLua's own native library (liblua54): the same interpreter its Lua object drives.
    private const string Library = "lua54";

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    private static extern IntPtr lua_pushlstring(IntPtr state, ref byte bytes, nuint length);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
    private static extern IntPtr lua_tolstring(IntPtr state, int index, out nuint length);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
    private static extern int lua_next(IntPtr state, int index);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
    private static extern long lua_tointegerx(IntPtr state, int index, out int isInteger);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
    private static extern void lua_settop(IntPtr state, int index);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
    private static extern int lua_gettop(IntPtr state);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
    private static extern int lua_type(IntPtr state, int index);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
    private static extern int lua_toboolean(IntPtr state, int index);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
    private static extern int lua_rawgeti(IntPtr state, int index, long n);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
    private static extern void lua_pushinteger(IntPtr state, long n);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
    private static extern void lua_pushboolean(IntPtr state, int b);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl), SuppressGCTransition]
    private static extern void lua_pushnil(IntPtr state);

    public static int Top(Lua lua) => lua_gettop(lua.Handle);

    public static void SetTop(Lua lua, int index) => lua_settop(lua.Handle, index);

    public static LuaType Type(Lua lua, int index) => (LuaType)lua_type(lua.Handle, index);

    public static bool ToBoolean(Lua lua, int index) => lua_toboolean(lua.Handle, index) != 0;

    /// <summary>The integer at `index` if it is a number with an integer's value, else null.</summary>
    public static long? ToInteger(Lua lua, int index)
    {
        var value = lua_tointegerx(lua.Handle, index, out var isInteger);
        return isInteger != 0 && Type(lua, index) == LuaType.Number ? value : null;
    }

    /// <summary>Pushes t[n] of the table at `index`, without metamethods (the registry, a reference's table).</summary>
    public static LuaType RawGet(Lua lua, int index, long n) => (LuaType)lua_rawgeti(lua.Handle, index, n);

    public static void Push(Lua lua, long integer) => lua_pushinteger(lua.Handle, integer);

    public static void Push(Lua lua, bool value) => lua_pushboolean(lua.Handle, value ? 1 : 0);

    public static void PushNil(Lua lua) => lua_pushnil(lua.Handle);

    /// <summary>
    /// Whether the table on top of the stack has no keys but the integers 1 to `count` (some of them may be nil).
    /// </summary>
    public static bool HoldsOnlyIndexes(Lua lua, int count)
    {
        var state = lua.Handle;
        lua_pushnil(state);
        while (lua_next(state, -2) != 0)
        {
            // The key's type first: lua_tointegerx would take a string of digits for its number.
            var index = ToInteger(lua, -2);
            lua_settop(state, -2);
            if (index is not { } at || at < 1 || at > count)
            {
                lua_settop(state, -2);
                return false;
            }
        }
        return true;
    }

    /// <summary>Pushes the bytes as one Lua string (Lua copies them into its own).</summary>
    public static void Push(Lua lua, ReadOnlySequence<byte> bytes)
    {
        if (!bytes.IsSingleSegment)
        {
            lua.PushBuffer(bytes.ToArray());
            return;
        }
        var span = bytes.FirstSpan;
        lua_pushlstring(lua.Handle, ref MemoryMarshal.GetReference(span), (nuint)span.Length);
    }

    /// <summary>
    /// The Lua string at `index` (a string: the caller checked its type, so nothing is converted) appended to
    /// `buffer` from `used` on (the buffer grows, doubling, when it must); the part it fills. A part handed out earlier
    /// keeps its bytes if the buffer grows: it still lies in the old one.
    /// </summary>
    public static ReadOnlyMemory<byte> Read(Lua lua, int index, ref byte[] buffer, ref int used)
    {
        var text = lua_tolstring(lua.Handle, index, out var length);
        var size = checked((int)length);
        if (buffer.Length - used < size) Array.Resize(ref buffer, Math.Max(buffer.Length * 2, used + size));
        Marshal.Copy(text, buffer, used, size);
        var part = new ReadOnlyMemory<byte>(buffer, used, size);
        used += size;
        return part;
    }
}
