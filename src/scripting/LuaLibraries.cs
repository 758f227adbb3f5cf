// src/scripting/LuaLibraries.cs: the libraries Redis gives its scripts beyond Lua's own: cjson, cmsgpack and bit,
// written in Lua on Lua 5.4's string.pack and integer operators, so that no native code is added to the sandbox.
// Job queues' scripts (bull, BullMQ) read their options with cmsgpack.unpack; others encode replies with cjson.
// Loaded before the sandbox closes (LuaEngine's prelude makes them read-only views like the other libraries).

namespace KV;

internal static class LuaLibraries
{
    public const string Source = """
        local pack, unpack, byte, char, format = string.pack, string.unpack, string.byte, string.char, string.format
        local concat, mtype, floor, huge = table.concat, math.type, math.floor, math.huge

        -- A table is an array when its keys are exactly 1..n (n > 0), else a map, as Redis's cmsgpack and cjson see it.
        local function arrayLength(t)
            local n = 0
            for k in pairs(t) do
                if mtype(k) ~= "integer" or k < 1 then return nil end
                n = n + 1
            end
            for i = 1, n do if t[i] == nil then return nil end end
            return n
        end

        local function integral(n)
            if mtype(n) == "integer" then return n end
            if n == floor(n) and n >= -2^63 and n < 2^63 then return floor(n) end
            return nil
        end

        cmsgpack = {}
        local function encode(value, out)
            local kind = type(value)
            if kind == "nil" then out[#out + 1] = "\xc0"
            elseif kind == "boolean" then out[#out + 1] = value and "\xc3" or "\xc2"
            elseif kind == "number" then
                local n = integral(value)
                if n == nil then out[#out + 1] = pack(">Bd", 0xcb, value)
                elseif n >= 0 and n <= 127 then out[#out + 1] = char(n)
                elseif n < 0 and n >= -32 then out[#out + 1] = char(256 + n)
                elseif n >= 0 and n <= 0xff then out[#out + 1] = pack(">BB", 0xcc, n)
                elseif n >= 0 and n <= 0xffff then out[#out + 1] = pack(">BI2", 0xcd, n)
                elseif n >= 0 and n <= 0xffffffff then out[#out + 1] = pack(">BI4", 0xce, n)
                elseif n >= 0 then out[#out + 1] = pack(">Bi8", 0xcf, n)
                elseif n >= -128 then out[#out + 1] = pack(">Bi1", 0xd0, n)
                elseif n >= -32768 then out[#out + 1] = pack(">Bi2", 0xd1, n)
                elseif n >= -2147483648 then out[#out + 1] = pack(">Bi4", 0xd2, n)
                else out[#out + 1] = pack(">Bi8", 0xd3, n) end
            elseif kind == "string" then
                local n = #value
                if n <= 31 then out[#out + 1] = char(0xa0 + n)
                elseif n <= 0xff then out[#out + 1] = pack(">BB", 0xd9, n)
                elseif n <= 0xffff then out[#out + 1] = pack(">BI2", 0xda, n)
                else out[#out + 1] = pack(">BI4", 0xdb, n) end
                out[#out + 1] = value
            elseif kind == "table" then
                local n = arrayLength(value)
                if n then
                    if n <= 15 then out[#out + 1] = char(0x90 + n)
                    elseif n <= 0xffff then out[#out + 1] = pack(">BI2", 0xdc, n)
                    else out[#out + 1] = pack(">BI4", 0xdd, n) end
                    for i = 1, n do encode(value[i], out) end
                else
                    local count = 0
                    for _ in pairs(value) do count = count + 1 end
                    if count <= 15 then out[#out + 1] = char(0x80 + count)
                    elseif count <= 0xffff then out[#out + 1] = pack(">BI2", 0xde, count)
                    else out[#out + 1] = pack(">BI4", 0xdf, count) end
                    for k, v in pairs(value) do
                        encode(k, out)
                        encode(v, out)
                    end
                end
            else out[#out + 1] = "\xc0" end
        end
        function cmsgpack.pack(...)
            local out = {}
            for i = 1, select("#", ...) do encode((select(i, ...)), out) end
            return concat(out)
        end

        local decode
        local function items(s, at, count, map)
            local t = {}
            for i = 1, count do
                local key
                if map then key, at = decode(s, at) else key = i end
                t[key], at = decode(s, at)
            end
            return t, at
        end
        decode = function(s, at)
            local b = byte(s, at)
            if b == nil then error("Missing bytes in input.", 0) end
            if b <= 0x7f then return b, at + 1 end
            if b >= 0xe0 then return b - 256, at + 1 end
            if b >= 0xa0 and b <= 0xbf then return s:sub(at + 1, at + b - 0xa0), at + 1 + b - 0xa0 end
            if b >= 0x90 and b <= 0x9f then return items(s, at + 1, b - 0x90, false) end
            if b >= 0x80 and b <= 0x8f then return items(s, at + 1, b - 0x80, true) end
            if b == 0xc0 then return nil, at + 1 end
            if b == 0xc2 then return false, at + 1 end
            if b == 0xc3 then return true, at + 1 end
            local formats = { [0xcc] = ">I1", [0xcd] = ">I2", [0xce] = ">I4", [0xcf] = ">i8", [0xd0] = ">i1",
                [0xd1] = ">i2", [0xd2] = ">i4", [0xd3] = ">i8", [0xca] = ">f", [0xcb] = ">d" }
            if formats[b] then return unpack(formats[b], s, at + 1) end
            local strings = { [0xd9] = ">s1", [0xda] = ">s2", [0xdb] = ">s4", [0xc4] = ">s1", [0xc5] = ">s2",
                [0xc6] = ">s4" }
            if strings[b] then return unpack(strings[b], s, at + 1) end
            if b == 0xdc or b == 0xdd then
                local count, next = unpack(b == 0xdc and ">I2" or ">I4", s, at + 1)
                return items(s, next, count, false)
            end
            if b == 0xde or b == 0xdf then
                local count, next = unpack(b == 0xde and ">I2" or ">I4", s, at + 1)
                return items(s, next, count, true)
            end
            error("Bad data format in input.", 0)
        end
        function cmsgpack.unpack(s)
            if type(s) ~= "string" then error("MessagePack decoding needs a string as input.", 2) end
            local values, count, at = {}, 0, 1
            while at <= #s do
                count = count + 1
                values[count], at = decode(s, at)
            end
            return table.unpack(values, 1, count)
        end

        cjson = { null = setmetatable({}, { __tostring = function() return "null" end }) }
        local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
            ["\r"] = "\\r", ["\t"] = "\\t" }
        local function encodeJson(value, out)
            local kind = type(value)
            if value == nil or value == cjson.null then out[#out + 1] = "null"
            elseif kind == "boolean" then out[#out + 1] = tostring(value)
            elseif kind == "number" then
                if value ~= value or value == huge or value == -huge then
                    error("Cannot serialise number: must not be NaN or Inf", 0)
                end
                out[#out + 1] = integral(value) and format("%d", integral(value)) or format("%.14g", value)
            elseif kind == "string" then
                out[#out + 1] = '"' .. value:gsub('[%c"\\]', function(c)
                    return escapes[c] or format("\\u%04x", byte(c))
                end) .. '"'
            elseif kind == "table" then
                local n = arrayLength(value)
                if n then
                    out[#out + 1] = "["
                    for i = 1, n do
                        if i > 1 then out[#out + 1] = "," end
                        encodeJson(value[i], out)
                    end
                    out[#out + 1] = "]"
                else
                    out[#out + 1] = "{"
                    local first = true
                    for k, v in pairs(value) do
                        if not first then out[#out + 1] = "," end
                        first = false
                        encodeJson(tostring(k), out)
                        out[#out + 1] = ":"
                        encodeJson(v, out)
                    end
                    out[#out + 1] = "}"
                end
            else error("Cannot serialise " .. kind .. ": type not supported", 0) end
        end
        function cjson.encode(value)
            local out = {}
            encodeJson(value, out)
            return concat(out)
        end

        local function skip(s, at) return s:find("[^ \t\r\n]", at) or #s + 1 end
        local decodeJson
        local function jsonString(s, at)
            local out, i = {}, at + 1
            while true do
                local c = s:sub(i, i)
                if c == "" then error("Expected value but found unexpected end of string", 0) end
                if c == '"' then return concat(out), i + 1 end
                if c == "\\" then
                    local e = s:sub(i + 1, i + 1)
                    local simple = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"', ["\\"] = "\\",
                        ["/"] = "/" }
                    if simple[e] then
                        out[#out + 1] = simple[e]
                        i = i + 2
                    elseif e == "u" then
                        out[#out + 1] = utf8.char(tonumber(s:sub(i + 2, i + 5), 16))
                        i = i + 6
                    else error("Found invalid escape code", 0) end
                else
                    out[#out + 1] = c
                    i = i + 1
                end
            end
        end
        decodeJson = function(s, at)
            at = skip(s, at)
            local c = s:sub(at, at)
            if c == "{" or c == "[" then
                local t, close = {}, c == "{" and "}" or "]"
                at = skip(s, at + 1)
                if s:sub(at, at) == close then return t, at + 1 end
                while true do
                    if c == "{" then
                        local key
                        key, at = decodeJson(s, at)
                        at = skip(s, at)
                        if s:sub(at, at) ~= ":" then error("Expected colon but found invalid token", 0) end
                        t[key], at = decodeJson(s, at + 1)
                    else
                        t[#t + 1], at = decodeJson(s, at)
                    end
                    at = skip(s, at)
                    local sep = s:sub(at, at)
                    if sep == close then return t, at + 1 end
                    if sep ~= "," then error("Expected comma or close but found invalid token", 0) end
                    at = at + 1
                end
            end
            if c == '"' then return jsonString(s, at) end
            for word, value in pairs({ ["true"] = true, ["false"] = false, ["null"] = cjson.null }) do
                if s:sub(at, at + #word - 1) == word then return value, at + #word end
            end
            local number = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", at)
            if number and number ~= "" then return tonumber(number), at + #number end
            error("Expected value but found invalid token at character " .. at, 0)
        end
        function cjson.decode(s)
            if type(s) ~= "string" then error("bad argument #1 to 'decode' (string expected)", 2) end
            local value, at = decodeJson(s, 1)
            if skip(s, at) <= #s then error("Expected the end but found invalid token", 0) end
            return value
        end

        -- LuaBitOp's 32-bit operations, as Redis's `bit` gives them: results are signed 32-bit integers.
        local function bits(n) return floor(n) & 0xffffffff end
        local function signed(n) n = n & 0xffffffff; return n >= 0x80000000 and n - 0x100000000 or n end
        local function fold(op) return function(a, ...)
            local r = bits(a)
            for i = 1, select("#", ...) do r = op(r, bits((select(i, ...)))) end
            return signed(r)
        end end
        bit = {
            tobit = function(n) return signed(bits(n)) end,
            bnot = function(n) return signed(~bits(n)) end,
            band = fold(function(a, b) return a & b end),
            bor = fold(function(a, b) return a | b end),
            bxor = fold(function(a, b) return a ~ b end),
            lshift = function(n, s) return signed(bits(n) << (s & 31)) end,
            rshift = function(n, s) return signed(bits(n) >> (s & 31)) end,
            arshift = function(n, s) return signed(signed(bits(n)) // (1 << (s & 31))) end,
            tohex = function(n, digits) return format("%0" .. (digits or 8) .. "x", bits(n)) end,
        }
        """;
}
