// src/scripting/LuaReplies.cs: Redis's conversion rules between RESP and Lua, both ways.
//
// A command's reply becomes a Lua value (Push): an integer a number, a bulk string a string, a nil false (RESP2) or
// nil (RESP3), an array a table, a status {ok=...}, an error {err=...}, and with redis.setresp(3) a map {map=...},
// a set {set=...}, a double {double=...}, a boolean a boolean. A script's result becomes the reply (Write): a number
// truncated to an integer, a string a bulk string, a table an array up to its first nil, {err=...} an error,
// {ok=...} a status, false a nil, true the integer 1 (in RESP3: booleans, {double=...}, {map=...}, {set=...}).

using System.Buffers;
using System.Buffers.Text;
using System.Text;
using KeraLua;

namespace KV;

public static class LuaReplies
{
    /// <summary>The deepest nesting a script's result may have: deeper ones are refused, not recursed into.</summary>
    public const int MaxDepth = 64;

    /// <summary>Pushes the RESP reply in `reply` as one Lua value.</summary>
    public static void Push(Lua lua, ReadOnlySpan<byte> reply, int protocol)
    {
        var reader = reply;
        PushValue(lua, ref reader, protocol, 0);
    }

    /// <summary>Pushes `{err = message}`.</summary>
    public static void PushError(Lua lua, string message)
    {
        lua.CreateTable(0, 1);
        lua.PushString("err");
        lua.PushString(message);
        lua.RawSet(-3);
    }

    private static void PushValue(Lua lua, ref ReadOnlySpan<byte> reply, int protocol, int depth)
    {
        // A C function has room for a few values; each level of an aggregate takes two more.
        if (depth > 0) lua.CheckStack(4);
        var marker = reply[0];
        var line = Line(ref reply);
        switch (marker)
        {
            case (byte)'+': PushField(lua, "ok", line); break;
            case (byte)'-': PushField(lua, "err", line); break;
            case (byte)':': LuaNative.Push(lua, Number(line)); break;
            case (byte)'_': lua.PushNil(); break;
            case (byte)'#': lua.PushBoolean(line.SequenceEqual("t"u8)); break;
            case (byte)',':
                lua.CreateTable(0, 1);
                lua.PushString("double");
                lua.PushNumber(double.Parse(Encoding.ASCII.GetString(line),
                    System.Globalization.CultureInfo.InvariantCulture));
                lua.RawSet(-3);
                break;
            case (byte)'$':
                var length = Number(line);
                if (length < 0)
                {
                    lua.PushBoolean(false);
                    break;
                }
                lua.PushBuffer(reply[..(int)length].ToArray());
                reply = reply[((int)length + 2)..];
                break;
            case (byte)'*' or (byte)'~' or (byte)'%':
                var count = Number(line);
                if (count < 0)
                {
                    lua.PushBoolean(false);
                    break;
                }
                PushAggregate(lua, ref reply, marker, (int)count, protocol, depth);
                break;
            default: throw new InvalidDataException($"unexpected reply type '{(char)marker}'");
        }
    }

    private static void PushAggregate(Lua lua, ref ReadOnlySpan<byte> reply, byte marker, int count, int protocol,
        int depth)
    {
        if (marker == '*')
        {
            lua.CreateTable(count, 0);
            for (var i = 1; i <= count; i++)
            {
                PushValue(lua, ref reply, protocol, depth + 1);
                lua.RawSetInteger(-2, i);
            }
            return;
        }
        // RESP3's map and set: {map = {field = value}}, {set = {member = true}}.
        lua.CreateTable(0, 1);
        lua.PushString(marker == '%' ? "map" : "set");
        lua.CreateTable(0, count);
        for (var i = 0; i < count; i++)
        {
            PushValue(lua, ref reply, protocol, depth + 1);
            if (marker == '%') PushValue(lua, ref reply, protocol, depth + 1);
            else lua.PushBoolean(true);
            lua.RawSet(-3);
        }
        lua.RawSet(-3);
    }

    private static void PushField(Lua lua, string name, ReadOnlySpan<byte> text)
    {
        lua.CreateTable(0, 1);
        lua.PushString(name);
        lua.PushBuffer(text.ToArray());
        lua.RawSet(-3);
    }

    private static ReadOnlySpan<byte> Line(ref ReadOnlySpan<byte> reply)
    {
        var end = reply.IndexOf("\r\n"u8);
        var line = reply[1..end];
        reply = reply[(end + 2)..];
        return line;
    }

    private static long Number(ReadOnlySpan<byte> text) => Utf8Parser.TryParse(text, out long value, out _) ? value : 0;

    /// <summary>A string field of the table at `index` (`err`, `ok`), read without metamethods; null if none.</summary>
    public static string? Field(Lua lua, int index, string name)
    {
        var table = lua.AbsIndex(index);
        lua.PushString(name);
        var type = lua.RawGet(table);
        var text = type == LuaType.String ? Encoding.UTF8.GetString(lua.ToBuffer(-1)) : null;
        lua.Pop(1);
        return text;
    }

    /// <summary>Writes the value on top of the stack as the script's reply, in the caller's protocol.</summary>
    public static void Write(Lua lua, IBufferWriter<byte> output, int protocol) =>
        WriteValue(lua, -1, output, protocol, 0);

    private static void WriteValue(Lua lua, int index, IBufferWriter<byte> output, int protocol, int depth)
    {
        index = lua.AbsIndex(index);
        switch (LuaNative.Type(lua, index))
        {
            case LuaType.String: RespReply.Bulk(output, lua.ToBuffer(index)); break;
            case LuaType.Number: RespReply.Integer(output, LuaNative.ToInteger(lua, index)
                ?? (long)Math.Truncate(lua.ToNumber(index))); break;
            case LuaType.Boolean when protocol == 3:
                output.Write(lua.ToBoolean(index) ? "#t\r\n"u8 : "#f\r\n"u8);
                break;
            case LuaType.Boolean:
                if (lua.ToBoolean(index)) RespReply.Integer(output, 1);
                else RespReply.Null(output);
                break;
            case LuaType.Table when depth >= MaxDepth:
                RespReply.Error(output, "reached lua stack limit");
                break;
            case LuaType.Table:
                lua.CheckStack(4);
                WriteTable(lua, index, output, protocol, depth);
                break;
            default: RespReply.Null(output, protocol); break;
        }
    }

    private static void WriteTable(Lua lua, int index, IBufferWriter<byte> output, int protocol, int depth)
    {
        if (Field(lua, index, "err") is { } error)
        {
            RespReply.Line(output, '-', error);
            return;
        }
        if (Field(lua, index, "ok") is { } status)
        {
            RespReply.Line(output, '+', status);
            return;
        }
        if (protocol == 3 && WroteResp3(lua, index, output, depth)) return;
        var count = 0;
        while (lua.RawGetInteger(index, count + 1) != LuaType.Nil)
        {
            lua.Pop(1);
            count++;
        }
        lua.Pop(1);
        RespReply.ArrayHeader(output, count);
        for (var i = 1; i <= count; i++)
        {
            lua.RawGetInteger(index, i);
            WriteValue(lua, -1, output, protocol, depth + 1);
            lua.Pop(1);
        }
    }

    /// <summary>RESP3's {double=...}, {map={...}} and {set={...}}; false when the table is none of them.</summary>
    private static bool WroteResp3(Lua lua, int index, IBufferWriter<byte> output, int depth)
    {
        lua.PushString("double");
        if (lua.RawGet(index) == LuaType.Number)
        {
            output.Write(Encoding.ASCII.GetBytes($",{lua.ToNumber(-1).ToString("R",
                System.Globalization.CultureInfo.InvariantCulture)}\r\n"));
            lua.Pop(1);
            return true;
        }
        lua.Pop(1);
        foreach (var (name, marker) in new[] { ("map", (byte)'%'), ("set", (byte)'~') })
        {
            lua.PushString(name);
            if (lua.RawGet(index) != LuaType.Table)
            {
                lua.Pop(1);
                continue;
            }
            var table = lua.GetTop();
            var count = 0;
            lua.PushNil();
            while (lua.Next(table))
            {
                lua.Pop(1);
                count++;
            }
            RespReply.Header(output, marker, count);
            lua.PushNil();
            while (lua.Next(table))
            {
                WriteValue(lua, -2, output, 3, depth + 1);
                if (marker == '%') WriteValue(lua, -1, output, 3, depth + 1);
                lua.Pop(1);
            }
            lua.Pop(1);
            return true;
        }
        return false;
    }
}
