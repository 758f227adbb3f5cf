// src/scripting/LuaEngine.Prelude.cs: feature: what every script and library can reach, set up once in Lua when the
// interpreter starts: the `redis` table, the kill check, the read-only libraries and globals; and what a library
// (FUNCTION LOAD) reaches while it loads: `redis.register_function`, `redis.log` and the version, nothing else, as
// in Redis 7.0. The prelude returns the scripts' view of the globals (their _ENV) and the two steps of a load.

namespace KV;

public sealed partial class LuaEngine
{
    private const string Prelude = """
        local call, check, sha1, log, setresp = __kv_call, __kv_check, __kv_sha1, __kv_log, __kv_setresp
        local error, sethook, type, select = error, debug.sethook, type, select
        __kv_call, __kv_check, __kv_sha1, __kv_log, __kv_setresp = nil, nil, nil, nil, nil
        io, os, debug, package, require, load, loadfile, dofile, print = nil, nil, nil, nil, nil, nil, nil, nil, nil
        unpack = table.unpack
        redis = {
            LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
            REDIS_VERSION = "7.0.0", REDIS_VERSION_NUM = 0x070000,
        }
        function redis.call(...)
            local raise, reply = call(true, ...)
            if raise then error(reply, 2) end
            return reply
        end
        function redis.pcall(...)
            local _, reply = call(false, ...)
            return reply
        end
        function redis.error_reply(message)
            if type(message) ~= "string" then error("wrong number or type of arguments", 2) end
            return { err = message }
        end
        function redis.status_reply(message)
            if type(message) ~= "string" then error("wrong number or type of arguments", 2) end
            return { ok = message }
        end
        function redis.sha1hex(text)
            local hex = sha1(text)
            if hex == nil then error("wrong number of arguments", 2) end
            return hex
        end
        function redis.log(level, ...)
            if select("#", ...) == 0 then error("redis.log() requires two arguments or more.", 2) end
            log(level, ...)
        end
        function redis.setresp(version)
            local problem = setresp(version)
            if problem then error(problem, 2) end
        end
        -- Every 10,000 instructions: killed? Then raise now, and at every line from then on, so that no pcall in
        -- the script can hold it; the next script's first line puts the rare check back.
        local stop
        local function everyLine()
            local reason = check()
            if reason then error({ err = reason }) end
            sethook(stop, "", 10000)
        end
        stop = function()
            local reason = check()
            if reason then
                sethook(everyLine, "l")
                error({ err = reason })
            end
        end
        sethook(stop, "", 10000)
        -- A hook belongs to one Lua thread, and a coroutine runs on a thread of its own: each coroutine a script makes
        -- sets the kill check on its thread first, so that a loop inside one can be stopped too (without it, SCRIPT
        -- KILL waited for ever on `coroutine.wrap(function() while true do end end)()`).
        local create, wrap = coroutine.create, coroutine.wrap
        local function checked(f)
            if type(f) ~= "function" then return f end
            return function(...)
                sethook(stop, "", 10000)
                return f(...)
            end
        end
        coroutine.create = function(f) return create(checked(f)) end
        coroutine.wrap = function(f) return wrap(checked(f)) end
        -- Nothing a script does may reach the next one: the libraries and `redis` become read-only views, the
        -- globals cannot be written, and no metatable of theirs can be changed or taken off, even by rawset.
        local protected, setmetatable_, rawset_ = {}, setmetatable, rawset
        local function refuse() error("Attempt to modify a readonly table", 2) end
        local libraries = { "string", "table", "math", "utf8", "coroutine", "redis", "cjson", "cmsgpack", "bit" }
        for _, name in ipairs(libraries) do
            local view = setmetatable_({}, { __index = _G[name], __newindex = refuse, __metatable = false })
            protected[view] = true
            _G[name] = view
        end
        local strings = getmetatable("")
        strings.__index, strings.__metatable = string, false
        -- No finalizers: Lua runs a __gc when it collects, with hooks off, so at some later script or at SCRIPT FLUSH,
        -- where no kill reaches it (`__gc = function() while true do end end` held the store for ever). Lua takes a
        -- finalizer only from a metatable that has __gc when it is set, so that is where it is refused.
        local rawget_ = rawget
        function setmetatable(t, meta)
            if protected[t] then error("Attempt to modify a readonly table", 2) end
            if type(meta) == "table" and rawget_(meta, "__gc") ~= nil then
                error("__gc metamethods are not allowed in scripts", 2)
            end
            return setmetatable_(t, meta)
        end
        -- The collector is the interpreter's, shared by every script: a script may run it or read it, not stop it or
        -- change its mode for the scripts after it.
        local collect = collectgarbage
        local reads = { collect = true, count = true, step = true, isrunning = true }
        function collectgarbage(option, ...)
            if option == nil or reads[option] then return collect(option, ...) end
            error("collectgarbage('" .. tostring(option) .. "') is not allowed in scripts", 2)
        end
        function rawset(t, key, value)
            if protected[t] then error("Attempt to modify a readonly table", 2) end
            return rawset_(t, key, value)
        end
        -- A script's globals are an empty view of the real ones: reading a missing name is an error, and writing any
        -- name is refused, one that exists (`redis = ...`, `_G = ...`) as much as a new one. Its metatable shows a
        -- read-only table, so that it cannot be changed either.
        local globals = _G
        -- While a library loads (FUNCTION LOAD), its code reaches only `loading`: `redis` with register_function, log
        -- and the version. What it registers waits in `pending` until the whole load has run.
        local pending, loading
        local known = { ["no-writes"] = true, ["allow-oom"] = true, ["allow-stale"] = true, ["no-cluster"] = true,
            ["allow-cross-slot-keys"] = true }
        local function fail(message) error({ err = "ERR " .. message }, 2) end
        local function named(arguments)
            local name, callback, flags, description
            for key, value in pairs(arguments) do
                local what = type(key) == "string" and key:lower() or
                    fail("named argument key given to redis.register_function is not a string")
                if what == "function_name" then
                    name = type(value) == "string" and value or
                        fail("function_name argument given to redis.register_function must be a string")
                elseif what == "description" then
                    description = type(value) == "string" and value or
                        fail("description argument given to redis.register_function must be a string")
                elseif what == "callback" then
                    callback = type(value) == "function" and value or
                        fail("callback argument given to redis.register_function must be a function")
                elseif what == "flags" then
                    flags = type(value) == "table" and value or fail("flags argument to redis.register_function " ..
                        "must be a table representing function flags")
                else fail("unknown argument given to redis.register_function") end
            end
            if name == nil then fail("redis.register_function must get a function name argument") end
            if callback == nil then fail("redis.register_function must get a callback argument") end
            return name, callback, flags or {}, description
        end
        local function register(...)
            if pending == nil then fail("redis.register_function can only be called on FUNCTION LOAD command") end
            local count, name, callback, flags, description = select("#", ...), nil, nil, {}, nil
            if count == 1 and type(...) == "table" then name, callback, flags, description = named(...)
            elseif count == 1 then fail("calling redis.register_function with a single argument is only " ..
                "applicable to Lua table (representing named arguments).")
            elseif count == 2 then
                name, callback = ...
                if type(name) ~= "string" then fail("first argument to redis.register_function must be a string") end
                if type(callback) ~= "function" then
                    fail("second argument to redis.register_function must be a function")
                end
            else fail("wrong number of arguments to redis.register_function") end
            if not name:match("^[%w_]+$") then fail("Function names can only contain letters, numbers, or " ..
                "underscores(_) and must be at least one character long") end
            if pending[name] then fail("Function already exists in the library") end
            for _, flag in pairs(flags) do
                if not known[flag] then fail("unknown flag given") end
            end
            pending[name] = { callback, table.concat(flags, " "), description }
        end
        local loadingRedis = { register_function = register, log = globals.redis.log }
        for _, name in ipairs({ "LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING", "REDIS_VERSION",
            "REDIS_VERSION_NUM" }) do loadingRedis[name] = globals.redis[name] end
        loadingRedis = setmetatable_({}, { __index = loadingRedis, __newindex = refuse, __metatable = false })
        protected[loadingRedis] = true
        loading = { redis = loadingRedis }
        -- A name read through a script's globals is looked up in the real ones by Lua itself (a table as __index costs
        -- no call, where a function cost one for every `redis` and `KEYS`); a name that is not there reaches the real
        -- table's own __index, an error. While a library loads, the view looks in `loading` instead.
        local function missing(_, name)
            error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
        end
        setmetatable_(globals, { __index = missing, __metatable = false })
        setmetatable_(loading, { __index = missing, __metatable = false })
        local sealed = setmetatable_({}, { __newindex = refuse, __metatable = false })
        protected[sealed] = true
        local view = {
            __newindex = function(_, name)
                error("Attempt to modify a readonly table: script tried to set global '" .. tostring(name) .. "'", 2)
            end,
            __index = globals,
            __pairs = function() return next, globals, nil end,
            __metatable = sealed,
        }
        local env = setmetatable_({}, view)
        local library = {
            -- Before a library's code runs: its globals are the load's, and registrations are taken.
            begin = function()
                pending = {}
                view.__index = loading
            end,
            -- After it ran (or failed): what it registered, name -> { callback, flags, description }.
            finish = function()
                local registered = pending
                pending = nil
                view.__index = globals
                return registered
            end,
        }
        protected[env], protected[globals] = true, true
        rawset_(globals, "_G", env)
        return env, library
        """;
}
