// tests/Harness.Clients.cs: what talks to a server in the tests, and what predicts its answers.
//
// Connection is one raw TCP connection reading replies with src/client/ReplyReader.cs's ReplyReader; ClientProcess is
// the real KVClient with redirected standard input (TerminalSession: on a pseudo-terminal); FakeServer plays a server
// by hand, to test the client alone; StoreModel predicts every reply of a client that owns its keys.

using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using KV;
using Xunit;

/// <summary>One raw TCP connection to a server, reading replies with src/client/ReplyReader.cs's ReplyReader.</summary>
public sealed class Connection : IAsyncDisposable
{
    public Socket Socket { get; }
    private readonly NetworkStream stream;
    private readonly ReplyReader replies;

    private Connection(Socket socket)
    {
        Socket = socket;
        stream = new NetworkStream(socket, ownsSocket: true);
        replies = new ReplyReader(PipeReader.Create(stream));
    }

    /// <summary>
    /// A connection to 127.0.0.1, from `from` when given (any 127.x.y.z: another client address on this machine).
    /// </summary>
    public static async Task<Connection> OpenAsync(int port, IPAddress? from = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (from is not null) socket.Bind(new IPEndPoint(from, 0));
        await socket.ConnectAsync(IPAddress.Loopback, port, Programs.Timeout());
        return new Connection(socket);
    }

    public async Task SendAsync(string text) => await stream.WriteAsync(Encoding.UTF8.GetBytes(text),
        Programs.Timeout());
    public async Task SendAsync(byte[] bytes) => await stream.WriteAsync(bytes, Programs.Timeout());
    public async Task<Reply> ReadAsync() => await replies.ReadAsync(Programs.Timeout());
    public async Task<string> ReadLineAsync() => await replies.ReadLineAsync(Programs.Timeout());

    public async Task<Reply> AskAsync(string line)
    {
        await SendAsync(line + "\n");
        return await ReadAsync();
    }

    /// <summary>True when the server has closed the connection (after any replies still unread).</summary>
    public async Task<bool> ClosedByServerAsync()
    {
        try
        {
            while (true) await replies.ReadLineAsync(Programs.Timeout());
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or SocketException)
        {
            return true;
        }
    }

    /// <summary>Closes with a TCP reset instead of a FIN, as a crashed peer or a middlebox would.</summary>
    public void Reset()
    {
        Socket.LingerState = new LingerOption(true, 0);
        Socket.Close();
    }

    public async ValueTask DisposeAsync() => await stream.DisposeAsync();
}

public sealed class ConnectionGroup(int capacity) : List<Connection>(capacity), IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        foreach (var connection in this) await connection.DisposeAsync();
    }
}

/// <summary>
/// A listener on a free port that plays the server's part by hand, line by line, to test the client alone.
/// </summary>
public sealed class FakeServer : IDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);

    public FakeServer() => listener.Start();

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>
    /// Runs `serve` on a thread of its own, with blocking calls (Accept, ReadLine, Send): a fake server must answer
    /// in time however busy the test process's thread pool is (on a loaded run, one served from the pool answered a
    /// client's first ping after the client had given up).
    /// </summary>
    public Task<T> Serve<T>(Func<FakeServer, T> serve) => Task.Factory.StartNew(() => serve(this),
        CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>The next client, waiting on this thread (ended by Dispose).</summary>
    public FakeConnection Accept() => new(listener.AcceptTcpClient());

    public void Dispose() => listener.Stop();
}

/// <summary>One client connected to a FakeServer: read its request lines, write the replies.</summary>
public sealed class FakeConnection(TcpClient peer) : IDisposable
{
    private StreamReader? lines;

    /// <summary>The next request line, waiting on this thread (at most Programs.Patience).</summary>
    public string ReadLine()
    {
        peer.ReceiveTimeout = (int)Programs.Patience.TotalMilliseconds;
        return (lines ??= new StreamReader(peer.GetStream(), Encoding.UTF8)).ReadLine()
            ?? throw new EndOfStreamException("the client closed the connection");
    }

    public void Send(string text) => peer.GetStream().Write(Encoding.UTF8.GetBytes(text));
    public void Dispose() => peer.Dispose();
}

/// <summary>
/// What a server must answer to one client, predicted from the requests alone. The client owns the keys that
/// start with its prefix, so a plain Dictionary is the whole truth, and `list` is compared on those keys only.
/// Replies are compared as text: the reply's wire head, then its content.
/// </summary>
/// <param name="password">The server's password, or null: the model then knows which requests need `auth`
/// first.</param>
public sealed class StoreModel(string prefix, string? password = null)
{
    private readonly Dictionary<string, string> data = [];
    private bool lineAuthenticated = password is null, respAuthenticated = password is null;

    /// <summary>
    /// The reply to a request line (without its LF; a trailing CR is dropped as the server does); null for a blank
    /// line.
    /// </summary>
    public string? Expect(byte[] line)
    {
        var framed = new ReadOnlySequence<byte>([.. line, (byte)'\n']);
        Assert.True(LineFraming.TryReadRequest(ref framed, out var request));
        return Request.Parse(request.ToArray()) switch
        {
            LineParse.Blank => null,
            LineParse.Invalid(var error) => "ERROR: " + error,
            LineParse.Valid(var valid) => Expect(valid),
            _ => throw new InvalidOperationException(),
        };
    }

    public string? Expect(string line) => Expect(Encoding.UTF8.GetBytes(line));

    private string Expect(Request request)
    {
        if (!lineAuthenticated && !request.Command.BeforeAuth)
            return "ERROR: " + Errors.AuthenticationRequired;
        switch (request.Command.Kind)
        {
            case CommandKind.Auth when password is null:
                return "ERROR: " + Errors.NoPassword;
            case CommandKind.Auth:
                lineAuthenticated |= request.Value == password;
                return request.Value == password ? "OK" : "ERROR: " + Errors.WrongPassword;
            case CommandKind.Set:
                data[request.Key!] = request.Value!;
                return "OK";
            case CommandKind.Get:
                return data.TryGetValue(request.Key!,
                    out var value) ? "VALUE " + value : "ERROR: "
                    + Errors.NotFound(Encoding.UTF8.GetBytes(request.Key!));
            case CommandKind.Del:
                return data.Remove(request.Key!) ? "OK" : "ERROR: "
                    + Errors.NotFound(Encoding.UTF8.GetBytes(request.Key!));
            case CommandKind.List:
                return "KEYS " + string.Join(',', data.Keys.Order(StringComparer.Ordinal));
            case CommandKind.Ping:
                return "PONG";
            case CommandKind.Help:
                return "HELP " + string.Join(',', Commands.HelpFor(request.Topic).Select(c => c.HelpLine));
            case CommandKind.Exit:
                return "BYE";
            case CommandKind.Decr when request.Amount == long.MinValue:
                // As Redis's DECRBY: the one amount that cannot be negated is refused before the key is read.
                return "ERROR: " + Errors.WouldOverflow(CommandKind.Decr);
            case CommandKind.Incr or CommandKind.Decr:
                var added = Add(request.Key!,
                    request.Command.Kind == CommandKind.Decr
                    ? -(System.Numerics.BigInteger)request.Amount : request.Amount);
                return added switch
                {
                    null => "ERROR: " + Errors.NotAnInteger(Encoding.UTF8.GetBytes(request.Key!)),
                    { } sum when sum < long.MinValue || sum > long.MaxValue => "ERROR: "
                        + Errors.WouldOverflow(request.Command.Kind),
                    { } sum => "VALUE " + Store(request.Key!, sum),
                };
            default:
                throw new InvalidOperationException($"no model for {request.Command.Kind}");
        }
    }

    /// <summary>What the key's integer plus `delta` would be, unbounded; null when the key holds no integer.</summary>
    private System.Numerics.BigInteger? Add(string key, System.Numerics.BigInteger delta) =>
        !data.TryGetValue(key, out var stored) ? delta
        : RequestParser.TryParseInteger(Encoding.UTF8.GetBytes(stored), out var current) ? current + delta
        : null;

    private string Store(string key, System.Numerics.BigInteger value) => data[key] = value.ToString();

    /// <summary>
    /// The RESP reply to a request (its arguments), as RespConnection writes replies: the same data, Redis's
    /// types. The fuzz asks KEYS only for patterns of this client's own keys, with `*` and `?` alone.
    /// </summary>
    public string ExpectResp(string[] request)
    {
        string Error(string message) => "-ERR " + message;
        string? Refusal(string key, string value) => RequestParser.KeyProblem(Encoding.UTF8.GetBytes(key));
        string Bulk(string? value) => value is null ? "$nil" : "$" + value;
        var arguments = request.Skip(1).ToArray();
        var name = request[0].ToLowerInvariant();
        var known = name is "get" or "set" or "setnx" or "del" or "unlink" or "exists" or "keys" or "ping" or "echo"
            or "auth" or "incr" or "decr" or "incrby" or "decrby";
        if (!respAuthenticated && known && RespCommands.Find(Encoding.ASCII.GetBytes(name)) is { BeforeAuth: false })
            return "-NOAUTH Authentication required.";
        switch (name, arguments)
        {
            case ("auth", [var given]) when password is not null:
                respAuthenticated |= given == password;
                return given == password ? "+OK" : "-WRONGPASS invalid username-password pair or user is disabled.";
            case ("ping", []): return "+PONG";
            case ("echo", [var message]): return Bulk(message);
            case ("get", [var key]): return Bulk(data.GetValueOrDefault(key));
            case ("set" or "setnx", [var key, var value, ..]) when Refusal(key,
                value) is { } refusal: return Error(refusal);
            case ("set", [var key, var value]):
                data[key] = value;
                return "+OK";
            case ("set", [var key, var value, var option]):
                var old = data.GetValueOrDefault(key);
                var store = option.ToLowerInvariant() switch { "nx" => old is null, "xx" => old is not null,
                    _ => true };
                if (store) data[key] = value;
                return option.Equals("get", StringComparison.OrdinalIgnoreCase) ? Bulk(old) : store ? "+OK" : "$nil";
            case ("setnx", [var key, var value]):
                return data.TryAdd(key, value) ? ":1" : ":0";
            case ("incrby" or "decrby", [_,
                var amount]) when !RequestParser.TryParseInteger(Encoding.UTF8.GetBytes(amount), out _):
                return Error("value is not an integer or out of range");
            case ("decrby", [_, var amount]) when amount == long.MinValue.ToString():
                return Error("decrement would overflow");
            case ("incr" or "decr" or "incrby" or "decrby", [var key,
                ..]) when RequestParser.KeyProblem(Encoding.UTF8.GetBytes(key)) is { } problem:
                return Error(problem);
            case ("incr" or "decr" or "incrby" or "decrby", [var key,
                ..]) when arguments.Length == (name.EndsWith("by") ? 2 : 1):
                var step = arguments.Length == 2 ? long.Parse(arguments[1]) : 1;
                var added = Add(key, name.StartsWith("decr") ? -(System.Numerics.BigInteger)step : step);
                return added switch
                {
                    null => Error("value is not an integer or out of range"),
                    { } sum when sum < long.MinValue || sum > long.MaxValue
                        => Error("increment or decrement would overflow"),
                    { } sum => ":" + Store(key, sum),
                };
            case ("del" or "unlink", [_, ..]): return ":" + arguments.Count(data.Remove);
            case ("exists", [_, ..]): return ":" + arguments.Count(data.ContainsKey);
            case ("keys", [var pattern]):
                var glob = new System.Text.RegularExpressions.Regex("^"
                    + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("\\*", ".*").Replace("\\?",
                    ".") + "$");
                var keys = data.Keys.Where(k => glob.IsMatch(k)).Order(StringComparer.Ordinal).Select(Bulk).ToList();
                return $"*{keys.Count}[{string.Join(',', keys)}]";
            case (_, _) when known:
                return Error($"wrong number of arguments for '{name}' command");
            default:
                return Error($"unknown command '{request[0]}', with args beginning with: " +
                    $"{string.Concat(arguments.Select(a => $"'{a}' "))}");
        }
    }

    /// <summary>
    /// A reply in the model's words, a quoted key or value decoded; `list` keeps this client's keys only.
    /// </summary>
    public string Text(Reply reply) => reply switch
    {
        Reply.Ok => "OK",
        Reply.Pong => "PONG",
        Reply.Bye => "BYE",
        Reply.Value(var text) => "VALUE " + Encoding.UTF8.GetString(QuotedForm.Decode(text)),
        Reply.Error(var message) => "ERROR: " + message,
        Reply.Keys(var names) => "KEYS " + string.Join(',', names.Select(n => Encoding.UTF8.GetString(
            QuotedForm.Decode(n))).Where(n => n.StartsWith(prefix, StringComparison.Ordinal))),
        Reply.Help(var lines) => "HELP " + string.Join(',', lines),
        _ => reply.ToString(),
    };
}

/// <summary>
/// The real KVClient process with redirected standard input; its output is split on LF only, as written.
/// </summary>
public sealed class ClientProcess : IAsyncDisposable
{
    public Process Process { get; }
    private readonly StringBuilder printed = new();
    private readonly SemaphoreSlim printedMore = new(0);
    private readonly Task pump, stderr;
    private int consumed;

    private ClientProcess(Process process)
    {
        Process = process;
        pump = Task.Run(async () =>
        {
            var chunk = new char[4096];
            int read;
            while ((read = await process.StandardOutput.ReadAsync(chunk)) > 0)
            {
                lock (printed) printed.Append(chunk, 0, read);
                printedMore.Release();
            }
            printedMore.Release();
        });
        stderr = Task.Run(async () =>
        {
            var text = await process.StandardError.ReadToEndAsync();
            await pump;
            lock (printed) printed.Append(text);
        });
    }

    public static Task<ClientProcess> StartAsync(params string[] args) => StartWithAsync([], args);

    /// <summary>The client with variables added to its environment (KV_PASSWORD).</summary>
    public static async Task<ClientProcess> StartWithAsync((string Name, string Value)[] environment,
        params string[] args)
    {
        var info = Programs.StartInfo([await Programs.DllAsync("KVClient.cs"), .. args]);
        foreach (var (name, value) in environment) info.Environment[name] = value;
        return new(Process.Start(info)!);
    }

    /// <summary>Runs a whole script through the client: its exit code and everything it printed.</summary>
    public static Task<(int ExitCode, string Output)> RunAsync(string script, params string[] args) => RunWithAsync([],
        script, args);

    public static async Task<(int ExitCode, string Output)> RunWithAsync((string Name, string Value)[] environment,
        string script, params string[] args)
    {
        await using var client = await StartWithAsync(environment, args);
        try
        {
            await client.SendAsync(script);
            client.Process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The client ended before it read its input (bad arguments, a refusal): its output and exit code tell.
        }
        return await client.FinishAsync();
    }

    public async Task SendAsync(string text)
    {
        await Process.StandardInput.BaseStream.WriteAsync(Encoding.UTF8.GetBytes(text), Programs.Timeout());
        await Process.StandardInput.BaseStream.FlushAsync(Programs.Timeout());
    }

    /// <summary>The next line the client printed.</summary>
    public async Task<string> ReadLineAsync()
    {
        while (true)
        {
            var ended = pump.IsCompleted;
            lock (printed)
            {
                var text = printed.ToString();
                var newline = text.IndexOf('\n', consumed);
                if (newline >= 0)
                {
                    var line = text[consumed..newline];
                    consumed = newline + 1;
                    return line;
                }
            }
            if (ended) throw new EndOfStreamException("the client ended");
            await printedMore.WaitAsync(Programs.Timeout());
        }
    }

    /// <summary>Waits for the exit: the exit code, and what the client printed that was not read yet.</summary>
    public async Task<(int ExitCode, string Output)> FinishAsync()
    {
        await Process.WaitForExitAsync(Programs.Timeout());
        await stderr.WaitAsync(Programs.Timeout());
        lock (printed) return (Process.ExitCode, printed.ToString()[consumed..]);
    }

    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited) Process.Kill(entireProcessTree: true);
        await Process.WaitForExitAsync();
        Process.Dispose();
    }
}

/// <summary>
/// The real KVClient on a pseudo-terminal made by `script`, as a person runs it: keys go in as the bytes a
/// terminal sends (`\e[D` for Left), and the screen is everything the client drew. Should the client ask
/// where the cursor is (`\e[6n`), the session answers as a terminal would, since `script` does not.
/// </summary>
public sealed class TerminalSession : IAsyncDisposable
{
    private readonly Process terminal;
    private readonly StringBuilder screen = new();
    private readonly SemaphoreSlim screenChanged = new(0);
    private readonly Task reading;

    private TerminalSession(Process terminal)
    {
        this.terminal = terminal;
        reading = Task.Run(async () =>
        {
            var chunk = new char[4096];
            int read;
            while ((read = await terminal.StandardOutput.ReadAsync(chunk)) > 0)
            {
                var text = new string(chunk, 0, read);
                if (text.Contains("\e[6n")) await TypeAsync("\e[1;1R");
                lock (screen) screen.Append(text);
                screenChanged.Release();
            }
            screenChanged.Release();
        });
    }

    /// <summary>Starts the client at a terminal; `environment` adds variables (KVCLIENT_HISTFILE, NO_COLOR).</summary>
    public static async Task<TerminalSession> StartAsync(int port, params (string Name, string Value)[] environment)
    {
        var client = await Programs.DllAsync("KVClient.cs");
        // Ctrl+C must reach the client as the signal a person's Ctrl+C is. A test run started in the background (`&`
        // in a script, as a CI job may start it) inherits SIGINT ignored, and would pass that on to the client.
        var info = new ProcessStartInfo("env",
            ["--default-signal=INT", "script", "-qfec", $"dotnet {client} 127.0.0.1 {port}", "/dev/null"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            StandardOutputEncoding = Encoding.UTF8,
        };
        info.Environment["KVCLIENT_HISTFILE"] = Path.Combine(Path.GetTempPath(), $"kv-history-{Guid.NewGuid():N}");
        // Not inherited: the runner's own -noColor sets NO_COLOR in this process.
        info.Environment.Remove("NO_COLOR");
        foreach (var (name, value) in environment) info.Environment[name] = value;
        return new TerminalSession(Process.Start(info)!);
    }

    public string Shown() { lock (screen) return screen.ToString(); }

    public int ExitCode => terminal.ExitCode;

    /// <summary>Changes the terminal's width, as a user dragging its window would: the client gets SIGWINCH.</summary>
    public async Task ResizeAsync(int columns)
    {
        // `script` runs the client on the pseudo-terminal: its child's standard input is the terminal's other end.
        var child = File.ReadAllText($"/proc/{terminal.Id}/task/{terminal.Id}/children").Split(' ',
            StringSplitOptions.RemoveEmptyEntries)[0];
        var tty = new FileInfo($"/proc/{child}/fd/0").LinkTarget!;
        using var stty = Process.Start("stty", ["-F", tty, "cols", columns.ToString()])!;
        await stty.WaitForExitAsync(Programs.Timeout());
        Assert.Equal(0, stty.ExitCode);
    }

    /// <summary>Sends bytes as typed (or pasted), with no Enter added.</summary>
    public async Task TypeAsync(string keys)
    {
        await terminal.StandardInput.BaseStream.WriteAsync(Encoding.UTF8.GetBytes(keys));
        await terminal.StandardInput.BaseStream.FlushAsync();
    }

    /// <summary>Waits until the screen shows `text` at least `occurrences` times.</summary>
    public async Task ExpectAsync(string text, int occurrences = 1)
    {
        var timeout = Programs.Timeout();
        try
        {
            while (CountOf(text) < occurrences)
                if (!await screenChanged.WaitAsync(Programs.Patience,
                    timeout) || reading.IsCompleted && CountOf(text) < occurrences)
                    break;
        }
        catch (OperationCanceledException) { }
        if (CountOf(text) < occurrences) Assert.Fail($"expected '{text.ReplaceLineEndings("\\n")}' on the " +
            $"terminal:\n{Shown()}");
    }

    /// <summary>
    /// Waits until the client has drawn its n-th fresh prompt. A fresh prompt starts a row (`\n\r`); the
    /// editor's redraws of the same row after each key start with `\r` alone, and are not counted.
    /// </summary>
    public Task ExpectPromptAsync(int count) => ExpectAsync("\n\rKVClient> ", count);

    private int CountOf(string text)
    {
        var shown = Shown();
        var count = 0;
        for (var at = shown.IndexOf(text, StringComparison.Ordinal); at >= 0; at = shown.IndexOf(text, at + text.Length,
            StringComparison.Ordinal)) count++;
        return count;
    }

    public async Task WaitForExitAsync()
    {
        await terminal.WaitForExitAsync(Programs.Timeout());
        await reading.WaitAsync(Programs.Timeout());
    }

    public async ValueTask DisposeAsync()
    {
        if (!terminal.HasExited) terminal.Kill(entireProcessTree: true);
        await terminal.WaitForExitAsync();
        terminal.Dispose();
    }
}
