#!/usr/bin/env dotnet
// KVClient.cs: the interactive client. `dotnet KVClient.cs [HOST PORT]`.
//
// It reads commands from standard input, validates each one with Protocol.cs's parser before sending it
// (an invalid line prints `ERROR: ...` and is not sent), sends the line as typed, reads one reply with
// src/client/ReplyReader.cs's ReplyReader and prints it: plain, or as XML, JSON or YAML for `--xml|--json|--yml`.
// On a terminal it shows a banner and the prompt `KVClient> `; with standard input redirected it prints
// only each command's output, so a script's transcript is exactly its replies. `help` needs no server.
// The includes are the whole client, a folder a role: the protocol; src/client (the parsed request, the reply
// reader, the output formats, the connection); and src/client/editor, the line editor for a person at a
// terminal (the terminal, the edit buffer, history, completion).

#:include Protocol.cs
#:include src/client/*.cs
#:include src/client/editor/*.cs

using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using KV;

const string Usage = """
    usage: dotnet KVClient.cs [HOST PORT [COMMAND...]]
           dotnet KVClient.cs -- --stat [HOST PORT]
      HOST      the server's IP address (IPv4 or IPv6) or name (default localhost)
      PORT      the server's TCP port (default 9000)
      COMMAND   one command to run, then exit: 0, or 1 when it printed an ERROR (as redis-cli does)
      --stat    a live view of the server, a line a second (keys, memory, clients, requests/s, threads), until Ctrl+C
    Give both HOST and PORT, or neither. Options for the client go after --: dotnet KVClient.cs -- --help
    With KV_PASSWORD set in the environment, the client gives the password after every connect.
    KV_CONNECT_TIMEOUT (seconds, default 4) is how long a server has to answer the client's first ping.
    """;

if (args is ["--help"] or ["-h"])
{
    Console.WriteLine(Usage);
    return 0;
}
// `--stat [HOST PORT]`: the live view instead of the prompt.
var statView = args is ["--stat", ..];
if (statView) args = args[1..];
if (args is [_] || (statView && args.Length > 2))
{
    Console.WriteLine("ERROR: give both HOST and PORT, or neither (dotnet KVClient.cs [HOST PORT [COMMAND...]])");
    return 2;
}
// `dotnet KVClient.cs localhost 9000 set greeting hello`: the words after the port are one command line.
var oneCommand = args.Length > 2 ? string.Join(' ', args[2..]) : null;
var host = args is [var h, _, ..] ? h : "localhost";
var portText = args is [_, var p, ..] ? p : "9000";
if (!int.TryParse(portText, out var port) || port is < 1 or > 65535)
{
    Console.WriteLine($"ERROR: invalid port '{portText}' (expected a number from 1 to 65535)");
    return 2;
}

var interactive = oneCommand is null && !Console.IsInputRedirected;
var onTerminal = !Console.IsOutputRedirected;
await using var connection = new ClientConnection(host, port,
    Environment.GetEnvironmentVariable("KV_PASSWORD") is { Length: > 0 } secret ? secret : null);
var address = connection.Address;
if (await connection.TryConnectAsync() is { } failure)
{
    Console.WriteLine($"ERROR: {failure}");
    return 1;
}
if (statView)
{
    using var stop = new CtrlC();
    return await StatView.RunAsync(connection, Console.Out, stop.Token) ? 0 : 1;
}
if (interactive) Console.WriteLine($"Connected to KV server {address}. Type 'help' for the commands, 'exit' to quit.");

try
{
    return await ConverseAsync();
}
catch (IOException e)
{
    // Our own standard input or output went away (`dotnet KVClient.cs < script | head -1`): say so, once.
    Console.Error.WriteLine($"ERROR: {e.Message}");
    return 1;
}

// The loop: one line in, at most one request out, exactly one output back.
async Task<int> ConverseAsync()
{
    var lines = oneCommand is not null ? new[] { Encoding.UTF8.GetBytes(oneCommand) }.ToAsyncEnumerable()
        : interactive ? TerminalLines().ToAsyncEnumerable() : RedirectedLines();
    // One command's status is its own (1 on an ERROR); a script's is 0 unless the server is lost.
    var failed = false;
    await foreach (var line in lines)
    {
        switch (Request.Parse(line))
        {
            case LineParse.Blank:
                break;
            case LineParse.Invalid(var error):
                Console.WriteLine($"ERROR: {error}");
                failed = true;
                break;
            case LineParse.Valid({ Command.Kind: CommandKind.Help } request):
                Console.WriteLine(string.Join('\n', Commands.HelpFor(request.Topic).Select(c => c.HelpLine)));
                break;
            case LineParse.Valid({ Command.Kind: CommandKind.Exit }) when !connection.IsConnected
                || connection.ClosedByServer():
                Console.WriteLine("BYE");
                return 0;
            case LineParse.Valid(var request):
                // The server stopped, or timed us out, since the last reply: connect again before sending. A
                // close that has not arrived yet shows as a failed send with no reply: KV answers every request
                // it has read before it closes, so that request was not run, and is sent again, once.
                Reply? reply = null;
                for (var attempt = 0; reply is null && attempt < 2; attempt++)
                {
                    var lostJustNow = connection.ClosedByServer();
                    if (lostJustNow) connection.Disconnect();
                    if (!connection.IsConnected)
                    {
                        if (await connection.TryConnectAsync() is { } again)
                        {
                            Console.WriteLine(lostJustNow || attempt > 0
                                ? $"ERROR: lost the connection to {address} (the server closed it); {again}"
                                : $"ERROR: {again}");
                            if (!interactive) return 1;
                            break;
                        }
                        // Said once, quietly, and not on standard output in a script: the command itself succeeds.
                        (interactive ? Console.Out : Console.Error).WriteLine($"(reconnected to {address})");
                    }
                    try
                    {
                        // A blocking pop may wait for ever: Ctrl+C stops the wait. The server forgets a waiter whose
                        // connection closes, so the client closes it, and connects again for the next command.
                        using var stop = request.Command.Kind is CommandKind.BLPop or CommandKind.BRPop
                            ? new CtrlC() : null;
                        reply = await connection.SendAsync(line, stop?.Token ?? default);
                    }
                    catch (OperationCanceledException)
                    {
                        connection.Disconnect();
                        reply = new Reply.Error("stopped waiting (Ctrl+C)");
                    }
                    catch (Exception e) when (e is IOException or SocketException or InvalidDataException)
                    {
                        connection.Disconnect();
                        if (request.Command.Kind == CommandKind.Exit)
                        {
                            Console.WriteLine("BYE");
                            return 0;
                        }
                        if (attempt == 0 && e is not InvalidDataException) continue;
                        Console.WriteLine($"ERROR: lost the connection to {address} " +
                            $"({ClientConnection.FailureReason(e)})");
                        if (!interactive) return 1;
                    }
                }
                if (reply is null) break;
                Print(request, reply, onTerminal);
                if (request.Command.Kind == CommandKind.Monitor
                    && reply is Reply.Ok) await StreamAsync(CommandKind.Ping, "PONG", MonitorLine);
                if (request.Command.Kind == CommandKind.Subscribe && reply is Reply.Counted)
                    await StreamAsync(CommandKind.Unsubscribe, "OK 0",
                        (line, terminal) => MessageLine(line, terminal, request.Format));
                failed = reply is Reply.Error;
                if (request.Command.Kind == CommandKind.Exit) return 0;
                break;
        }
    }
    return oneCommand is not null && failed ? 1 : 0;
}

// After `monitor`'s OK or `subscribe`'s: what the server pushes, a line each, until Ctrl+C; then `stopRequest` ends it,
// and the prompt (or the script) goes on.
async Task StreamAsync(CommandKind stopRequest, string lastLine, Func<string, bool, string> shown)
{
    using var stop = new CtrlC();
    var stopped = Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
    try
    {
        await connection.StreamUntilAsync(stopped, stopRequest, lastLine,
            line => Console.WriteLine(shown(line, onTerminal)));
    }
    catch (Exception e) when (e is IOException or SocketException or InvalidDataException)
    {
        connection.Disconnect();
        Console.WriteLine($"ERROR: lost the connection to {address} ({ClientConnection.FailureReason(e)})");
    }
}

// A monitor line at a terminal: its time of day, local (a script reads the wire's seconds since 1970); the server
// quotes what is not plain text, and a line that still holds a character a terminal would obey (a server that is
// not KV's) is shown quoted, as a value would be.
static string MonitorLine(string line, bool onTerminal) => !onTerminal ? line
    : Formats.MonitorTime(Terminal.HasHidden(line) ? Terminal.Visible(line) : line, TimeZoneInfo.Local);

// A subscriber's `MESSAGE channel message` (each in the quoted form where the server needed it): in a format, one
// record a message (JSON Lines, an XML element a line, a YAML document each); at a terminal the channel (dimmed),
// then the message, escaped as `get` escapes a value; else the line's own words, so a script reads one a line.
static string MessageLine(string line, bool onTerminal, OutputFormat format)
{
    if (!line.StartsWith("MESSAGE ", StringComparison.Ordinal)) return line;
    var (channel, message) = QuotedForm.SplitWord(line["MESSAGE ".Length..]);
    if (format != OutputFormat.Plain)
        return Formats.Message(format, QuotedForm.Decode(channel), QuotedForm.Decode(message));
    if (!onTerminal) return $"{channel} {message}";
    var (shownChannel, shownMessage) = (Terminal.VisibleKey(QuotedForm.Decode(channel)),
        Terminal.Visible(QuotedForm.Decode(message)));
    return Terminal.UseColour ? $"{Terminal.Dim}{shownChannel}{Terminal.Reset} {shownMessage}"
        : $"{shownChannel} {shownMessage}";
}

// What the user sees for each reply: the spec's "client prints" column. A value or key arrives quoted where a line
// could not carry it plainly, and is decoded. On a terminal a value or key that is not plain printable text is shown
// quoted and escaped, so that it cannot drive the terminal nor pass for another (Terminal.Visible); redirected, a
// value is its bytes (Print), and a listing keeps the quoted form, so that each key stays on its own line.
static string Render(Request request, Reply reply, bool onTerminal) => reply switch
{
    Reply.Value(var value) when onTerminal && request.Format == OutputFormat.Plain =>
        Terminal.Visible(QuotedForm.Decode(value)),
    Reply.Value(var value) => Formats.Value(request.Format, request.KeyBytes, QuotedForm.Decode(value)),
    Reply.Keys(var keys) when request.Format == OutputFormat.Plain =>
        Formats.Keys(request.Format, [.. keys.Select(k => onTerminal ? Terminal.VisibleKey(QuotedForm.Decode(k)) : k)]),
    Reply.Keys(var keys) => Formats.Keys(request.Format, [.. keys.Select(QuotedForm.Decode)]),
    Reply.Values(var items) => string.Join('\n', items.Select(item => onTerminal
        ? Terminal.Visible(QuotedForm.Decode(item)) : item)),
    Reply.Ok => "OK",
    Reply.Pong => "PONG",
    Reply.Bye => "BYE",
    Reply.Help(var lines) => string.Join('\n', lines),
    Reply.Stats(var figures) => Formats.Stats(request.Format, figures),
    Reply.Ttl(var seconds) => seconds?.ToString() ?? "none",
    Reply.Counted(var count) => $"OK {count}",
    Reply.Error(var message) => $"ERROR: {message}",
    _ => $"ERROR: unexpected reply {reply}",
};

// One reply on standard output: a value `get` sends to a file or a pipe is its exact bytes, whatever they are.
static void Print(Request request, Reply reply, bool onTerminal)
{
    if (reply is not Reply.Value(var value) || onTerminal || request.Format != OutputFormat.Plain)
    {
        Console.WriteLine(Render(request, reply, onTerminal));
        return;
    }
    Console.Out.Flush();
    using var output = Console.OpenStandardOutput();
    output.Write([.. QuotedForm.Decode(value), (byte)'\n']);
    output.Flush();
}

// A terminal: the prompt, the line editor and the history file.
static IEnumerable<byte[]> TerminalLines()
{
    var history = History.Open(History.DefaultPath());
    var editor = LineEditor.ForConsole(history);
    while (editor.ReadLine("KVClient> ") is { } line)
    {
        history.Add(line);
        yield return Encoding.UTF8.GetBytes(line);
    }
}

// Redirected input: raw UTF-8 lines split on LF only, so a value may hold a lone CR or invalid bytes reach the parser.
static async IAsyncEnumerable<byte[]> RedirectedLines(
    [EnumeratorCancellation] CancellationToken cancellationToken = default)
{
    var input = PipeReader.Create(Console.OpenStandardInput());
    while (true)
    {
        var result = await input.ReadAsync(cancellationToken);
        var buffer = result.Buffer;
        var lines = new List<byte[]>();
        while (LineFraming.TryReadRequest(ref buffer, out var line)) lines.Add(line.ToArray());
        if (result.IsCompleted && !buffer.IsEmpty)
        {
            lines.Add(LineFraming.WithoutCarriageReturn(buffer).ToArray());
            buffer = buffer.Slice(buffer.End);
        }
        input.AdvanceTo(buffer.Start, buffer.End);
        foreach (var line in lines) yield return line;
        if (result.IsCompleted) yield break;
    }
}

/// <summary>
/// While it lives, Ctrl+C cancels its token instead of ending the client (a monitor or the live view stops).
/// </summary>
sealed class CtrlC : IDisposable
{
    private readonly CancellationTokenSource stop = new();

    public CtrlC() => Console.CancelKeyPress += Stop;

    public CancellationToken Token => stop.Token;

    private void Stop(object? sender, ConsoleCancelEventArgs e)
    {
        e.Cancel = true;
        stop.Cancel();
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= Stop;
        stop.Dispose();
    }
}
