// tests/ClientTests.cs: the real KVClient, driven as a user drives it: a script on redirected standard input,
// bad arguments, a server that is not there or goes away, and a session on a pseudo-terminal.

using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using KV;
using Xunit;

public class ClientTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private string Port => shared.Server.Port.ToString();

    private static readonly string[] ValuesToRoundTrip =
        [" x\tb ", "<&>\"'", "ñandú 日本語", "emoji 😀🎉", "yes", "null", "123", "- x", "key: value", "   ", "plain"];

    [Fact]
    public async Task A_scripted_session_prints_every_format_so_that_its_library_reads_back_the_value()
    {
        var script = new StringBuilder();
        for (var i = 0; i < ValuesToRoundTrip.Length; i++)
            script.Append($"set fmt{i} {ValuesToRoundTrip[i]}\nget fmt{i}\nget fmt{i} --xml\nget fmt{i} --JSON\nget fmt{i} --yml\n");
        script.Append("list\nlist --xml\nlist --json\nlist --yml\nexit\nping\n");

        var (exitCode, output) = await ClientProcess.RunAsync(script.ToString(), "localhost", Port);
        Assert.Equal(0, exitCode);
        var lines = new Queue<string>(output.Split('\n'));
        string Take(int count) => string.Join('\n', Enumerable.Range(0, count).Select(_ => lines.Dequeue()));

        foreach (var (value, i) in ValuesToRoundTrip.Select((v, i) => (v, i)))
        {
            Assert.Equal("OK", Take(1));
            Assert.Equal(value, Take(1));
            var xml = XElement.Parse(Take(4));
            Assert.Equal(value, FormatTests.XmlText(xml.Element("value")!));
            Assert.Equal($"fmt{i}", FormatTests.XmlText(xml.Element("key")!));
            using var json = JsonDocument.Parse(Take(4));
            Assert.Equal(value, json.RootElement.GetProperty("value").GetString());
            Assert.Equal(value, FormatTests.ReadYaml(Take(2))["value"].Value);
        }
        var keys = Enumerable.Range(0, ValuesToRoundTrip.Length).Select(i => $"fmt{i}").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(keys, Take(keys.Length).Split('\n'));
        Assert.Equal(keys, XElement.Parse(Take(keys.Length + 2)).Elements("key").Select(FormatTests.XmlText));
        using var list = JsonDocument.Parse(Take(keys.Length + 4));
        Assert.Equal(keys, list.RootElement.GetProperty("keys").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal("keys:", Take(1));
        Assert.Equal(keys.Select(k => "- " + k), Take(keys.Length).Split('\n'));
        Assert.Equal("BYE", Take(1));
        Assert.Equal("", string.Join('\n', lines));
    }

    [Fact]
    public async Task Redirected_input_prints_one_reply_per_command_and_no_prompt()
    {
        var (exitCode, output) = await ClientProcess.RunAsync("ping\n\n   \nPING\r\nset r1 v\ndel r1\ndel r1\nlist --json\nget", "localhost", Port);
        Assert.Equal(0, exitCode);
        var lines = output.Split('\n');
        Assert.Equal(["PONG", "PONG", "OK", "OK", "ERROR: key 'r1' not found"], lines[..5]);
        Assert.DoesNotContain("KVClient>", output);
        Assert.Equal("ERROR: " + Errors.WrongArguments(Commands.Of(CommandKind.Get)), lines[^2]);
    }

    [Fact]
    public async Task Help_is_answered_from_the_command_table()
    {
        var (exitCode, output) = await ClientProcess.RunAsync("help\nhelp get\n", "localhost", Port);
        Assert.Equal(0, exitCode);
        var help = Commands.HelpFor(null).Concat(Commands.HelpFor(Commands.Of(CommandKind.Get))).Select(c => c.HelpLine);
        Assert.Equal([.. help, ""], output.Split('\n'));
    }

    [Fact]
    public async Task Invalid_commands_print_an_error_and_are_never_sent()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var received = Task.Run(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync(Programs.Timeout());
            var stream = peer.GetStream();
            var reader = new ReplyReader(PipeReader.Create(stream));
            var lines = new List<string>();
            while (true)
            {
                var line = await reader.ReadLineAsync(Programs.Timeout());
                lines.Add(line);
                await stream.WriteAsync(line == "exit" ? "BYE\n"u8.ToArray() : "PONG\n"u8.ToArray());
                if (line == "exit") return lines;
            }
        });

        string[] invalid =
        [
            "fo", "get", "get a b", "get a --csv", "get --json a", "get  a", "set", "set k", "del", "del k v", "list k",
            "list --csv", "ping x", "exit now", "help nope", " ping", "get a\tb", "get " + new string('k', 257),
        ];
        var script = string.Join('\n', invalid.Append("ping").Append("help").Append("exit")) + "\n";
        var (exitCode, output) = await ClientProcess.RunAsync(script, "127.0.0.1", port.ToString());

        Assert.Equal(0, exitCode);
        Assert.Equal(["ping", "exit"], await received.WaitAsync(Programs.Timeout()));
        var lines = output.Split('\n');
        Assert.All(lines[..invalid.Length], line => Assert.StartsWith("ERROR: ", line));
        foreach (var (line, i) in invalid.Select((line, i) => (line, i)))
            Assert.Equal("ERROR: " + Assert.IsType<LineParse.Invalid>(Request.Parse(line)).Error, lines[i]);
        Assert.Equal("PONG", lines[invalid.Length]);
    }

    [Theory]
    [InlineData("localhost", 2, "ERROR: give both HOST and PORT, or neither")]
    [InlineData("a b c", 2, "ERROR: give both HOST and PORT, or neither")]
    [InlineData("localhost http", 2, "ERROR: invalid port 'http'")]
    [InlineData("localhost 70000", 2, "ERROR: invalid port '70000'")]
    [InlineData("--help", 0, "usage: dotnet KVClient.cs [HOST PORT]")]
    [InlineData("nosuchhost.invalid 9000", 1, "ERROR: could not connect to nosuchhost.invalid:9000 (")]
    public async Task The_arguments_decide_the_exit_code_and_the_first_line(string arguments, int exitCode, string firstLine)
    {
        var (actualExitCode, output) = await ClientProcess.RunAsync("ping\n", arguments.Split(' '));
        Assert.Equal(exitCode, actualExitCode);
        Assert.StartsWith(firstLine, output);
    }

    [Fact]
    public async Task A_closed_port_exits_1_within_5_seconds()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        await using var client = await ClientProcess.StartAsync("127.0.0.1", port.ToString());
        await client.Process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        var (exitCode, output) = await client.FinishAsync();
        Assert.Equal(1, exitCode);
        Assert.StartsWith($"ERROR: could not connect to 127.0.0.1:{port} (", output);
    }

    [Fact]
    public async Task Names_and_ipv6_addresses_both_connect()
    {
        Assert.Equal((0, "PONG\n"), await ClientProcess.RunAsync("ping\n", "localhost", Port));
        Assert.Equal((0, "PONG\n"), await ClientProcess.RunAsync("ping\n", "::1", Port));
    }

    [Fact]
    public async Task On_a_terminal_the_client_prompts_and_reconnects_to_a_restarted_server()
    {
        var first = InProcessServer.Start();
        var port = first.Port;
        // `script` gives the client a pseudo-terminal, so it runs exactly as it does for a person.
        var client = await Programs.DllAsync("KVClient.cs");
        using var terminal = Process.Start(new ProcessStartInfo("script", ["-qfec", $"dotnet {client} 127.0.0.1 {port}", "/dev/null"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            StandardOutputEncoding = Encoding.UTF8,
        })!;
        var screen = new StringBuilder();
        using var screenChanged = new SemaphoreSlim(0);
        var reading = Task.Run(async () =>
        {
            var chunk = new char[1024];
            int read;
            while ((read = await terminal.StandardOutput.ReadAsync(chunk)) > 0)
            {
                lock (screen) screen.Append(chunk, 0, read);
                screenChanged.Release();
            }
        }, TestContext.Current.CancellationToken);
        async Task Type(string line)
        {
            await terminal.StandardInput.WriteAsync(line + "\n");
            await terminal.StandardInput.FlushAsync();
        }
        async Task Expect(string text, int occurrences = 1)
        {
            var timeout = Programs.Timeout();
            while (Regex.Matches(Shown(), Regex.Escape(text)).Count < occurrences)
                if (!await screenChanged.WaitAsync(Programs.Patience, timeout)) Assert.Fail($"expected '{text}' on the terminal:\n{Shown()}");
        }
        string Shown() { lock (screen) return screen.ToString(); }

        try
        {
            await Expect($"Connected to KV server 127.0.0.1:{port}. Type 'help' for the commands, 'exit' to quit.");
            await Expect("KVClient> ");
            await Type("ping");
            await Expect("PONG");

            await first.DisposeAsync();
            await using var second = InProcessServer.StartOn(port);
            await Type("ping");
            await Expect("(reconnected to 127.0.0.1:" + port + ")");
            await Expect("PONG", 2);
            Assert.Contains($"ERROR: lost the connection to 127.0.0.1:{port} (the server closed it)", Shown());
            Assert.True(Shown().IndexOf("ERROR: lost the connection") < Shown().IndexOf("(reconnected to"));

            await Type("exit");
            await terminal.WaitForExitAsync(Programs.Timeout());
            await reading;
            Assert.Equal(0, terminal.ExitCode);
            Assert.DoesNotContain("   at ", Shown());
        }
        finally
        {
            if (!terminal.HasExited) terminal.Kill(entireProcessTree: true);
            await first.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_server_lost_mid_session_gives_an_error_line_and_exit_1()
    {
        var server = InProcessServer.Start();
        await using var client = await ClientProcess.StartAsync("localhost", server.Port.ToString());
        await client.SendAsync("set lost v\n");
        Assert.Equal("OK", await client.ReadLineAsync());
        await server.DisposeAsync();

        await client.SendAsync("get lost\n");
        var (exitCode, output) = await client.FinishAsync();
        Assert.Equal(1, exitCode);
        Assert.Matches(@"^ERROR: lost the connection to localhost:\d+ \(.+\)\n$", output);
    }
}
