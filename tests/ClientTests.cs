// tests/ClientTests.cs: the real KVClient, driven as a user drives it: a script on redirected standard input,
// bad arguments, a server that is not there or goes away, and a session on a pseudo-terminal.

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
        [" x\tb ", "<&>\"'", "ñandú 日本語", "emoji 😀🎉", "yes", "null", "123", "- x", "key: value", "   ",
            "plain"];

    [Fact]
    public async Task A_scripted_session_prints_every_format_so_that_its_library_reads_back_the_value()
    {
        var script = new StringBuilder();
        for (var i = 0; i < ValuesToRoundTrip.Length; i++)
            script.Append($"set fmt{i} {ValuesToRoundTrip[i]}\nget fmt{i}\nget fmt{i} --xml\nget fmt{i} --JSON\nget " +
                $"fmt{i} --yml\n");
        script.Append("list\nlist --xml\nlist --json\nlist --yml\nexit\nping\n");

        var (exitCode, output) = await ClientProcess.RunAsync(script.ToString(), "localhost", Port);
        Assert.True(exitCode == 0, $"exit {exitCode}: {output[^Math.Min(output.Length, 2000)..]}");
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
        var keys = Enumerable.Range(0,
            ValuesToRoundTrip.Length).Select(i => $"fmt{i}").Order(StringComparer.Ordinal).ToArray();
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
    public async Task Stats_prints_its_figures_aligned_and_in_each_format_numbers_as_numbers()
    {
        var (exitCode, output) = await ClientProcess.RunAsync("stats\nstats --json\nstats --yml\nstats --xml\n",
            "localhost", Port);
        Assert.True(exitCode == 0, $"exit {exitCode}: {output}");
        var lines = new Queue<string>(output.Split('\n'));
        string Take(int count) => string.Join('\n', Enumerable.Range(0, count).Select(_ => lines.Dequeue()));

        var plain = Take(31).Split('\n');
        Assert.All(plain, line => Assert.Matches(@"^[a-z_]+ {2,}\S+$", line));
        // One column of values: every name padded to the same width.
        Assert.Single(plain.Select(line => Regex.Match(line, "^[a-z_]+ +").Length).Distinct());
        using var json = JsonDocument.Parse(Take(33));
        Assert.Equal(JsonValueKind.Number, json.RootElement.GetProperty("requests").ValueKind);
        Assert.Equal("pool", json.RootElement.GetProperty("threading").GetString());
        var yaml = FormatTests.ReadYaml(Take(31));
        Assert.Equal("pool", yaml["threading"].Value);
        Assert.True(long.Parse(yaml["keys"].Value!) >= 0);
        var xml = XElement.Parse(Take(33));
        Assert.Equal("pool", xml.Element("threading")!.Value);
    }

    [Fact]
    public async Task Redirected_input_prints_one_reply_per_command_and_no_prompt()
    {
        var (exitCode,
            output) = await ClientProcess.RunAsync("ping\n\n   \nPING\r\nset r1 v\ndel r1\ndel r1\nlist --json\nget",
            "localhost", Port);
        Assert.True(exitCode == 0, $"exit {exitCode}: {output}");
        var lines = output.Split('\n');
        Assert.Equal(["PONG", "PONG", "OK", "OK", "ERROR: key 'r1' not found"], lines[..5]);
        Assert.DoesNotContain("KVClient>", output);
        Assert.Equal("ERROR: " + Errors.WrongArguments(Commands.Of(CommandKind.Get)), lines[^2]);
    }

    [Fact]
    public async Task Help_is_answered_from_the_command_table()
    {
        var (exitCode, output) = await ClientProcess.RunAsync("help\nhelp get\n", "localhost", Port);
        Assert.True(exitCode == 0, $"exit {exitCode}: {output}");
        var help = Commands.HelpFor(null).Concat(Commands.HelpFor(Commands.Of(CommandKind.Get))).Select(c
            => c.HelpLine);
        Assert.Equal([.. help, ""], output.Split('\n'));
    }

    [Fact]
    public async Task Invalid_commands_print_an_error_and_are_never_sent()
    {
        using var fake = new FakeServer();
        var port = fake.Port;
        var received = fake.Serve(server =>
        {
            using var peer = server.Accept();
            var lines = new List<string>();
            while (true)
            {
                var line = peer.ReadLine();
                lines.Add(line);
                peer.Send(line == "exit" ? "BYE\n" : "PONG\n");
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

        Assert.True(exitCode == 0, $"exit {exitCode}: {output}");
        // The first ping is the client's own: it confirms the server admitted it before anything is typed.
        Assert.Equal(["ping", "ping", "exit"], await received.WaitAsync(Programs.Timeout()));
        var lines = output.Split('\n');
        Assert.All(lines[..invalid.Length], line => Assert.StartsWith("ERROR: ", line));
        foreach (var (line, i) in invalid.Select((line, i) => (line, i)))
            Assert.Equal("ERROR: " + Assert.IsType<LineParse.Invalid>(Request.Parse(line)).Error, lines[i]);
        Assert.Equal("PONG", lines[invalid.Length]);
    }

    [Theory]
    [InlineData("localhost", 2, "ERROR: give both HOST and PORT, or neither")]
    [InlineData("a b c", 2, "ERROR: invalid port 'b'")]
    [InlineData("localhost http", 2, "ERROR: invalid port 'http'")]
    [InlineData("localhost 70000", 2, "ERROR: invalid port '70000'")]
    [InlineData("--help", 0, "usage: dotnet KVClient.cs [HOST PORT [COMMAND...]]")]
    [InlineData("nosuchhost.invalid 9000", 1, "ERROR: could not connect to nosuchhost.invalid:9000 (")]
    [InlineData("--stat localhost", 2, "ERROR: give both HOST and PORT, or neither")]
    [InlineData("--stat localhost 9000 extra", 2, "ERROR: give both HOST and PORT, or neither")]
    [InlineData("--stat nosuchhost.invalid 9000", 1, "ERROR: could not connect to nosuchhost.invalid:9000 (")]
    public async Task The_arguments_decide_the_exit_code_and_the_first_line(string arguments, int exitCode,
        string firstLine)
    {
        var (actualExitCode, output) = await ClientProcess.RunAsync("ping\n", arguments.Split(' '));
        Assert.Equal(exitCode, actualExitCode);
        Assert.StartsWith(firstLine, output);
    }

    [Fact]
    public async Task Host_port_and_a_command_run_that_one_command_and_exit_with_its_status()
    {
        // A server of its own: the class's shared one is listed by another test.
        await using var server = InProcessServer.Start();
        var port = server.Port.ToString();
        var (stored, setOutput) = await ClientProcess.RunAsync("", "localhost", port, "set", "one-shot",
            "hello  world");
        Assert.Equal((0, "OK\n"), (stored, setOutput));
        Assert.Equal((0, "hello  world\n"), await ClientProcess.RunAsync("", "localhost", port, "get", "one-shot"));
        Assert.Equal((1, "ERROR: key 'absent' not found\n"), await ClientProcess.RunAsync("", "localhost", port, "get",
            "absent"));
        Assert.Equal(1, (await ClientProcess.RunAsync("", "localhost", port, "nosuch")).ExitCode);
    }

    [Fact]
    public async Task A_closed_port_exits_1_within_5_seconds()
    {
        int port;
        using (var closed = new FakeServer()) port = closed.Port;

        await using var client = await ClientProcess.StartAsync("127.0.0.1", port.ToString());
        await client.Process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(5),
            TestContext.Current.CancellationToken);
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

    [Fact]
    public async Task A_client_the_server_refuses_exits_1_with_the_servers_error_before_any_banner()
    {
        await using var server = InProcessServer.Start("--max-clients", "1");
        await using var admitted = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await admitted.AskAsync("ping"));
        Assert.Equal((1, "ERROR: too many clients (max 1)\n"), await ClientProcess.RunAsync("ping\n", "127.0.0.1",
            server.Port.ToString()));
    }

    [Fact]
    public async Task After_an_idle_timeout_the_next_command_reconnects_and_succeeds_without_an_error()
    {
        await using var server = InProcessServer.Start("--idle-timeout", "1");
        await using var client = await ClientProcess.StartAsync("127.0.0.1", server.Port.ToString());
        await client.SendAsync("set idle kept\n");
        Assert.Equal("OK", await client.ReadLineAsync());
        await server.ExpectOutputAsync("disconnected: idle for 1 s");
        await client.SendAsync("get idle\n");
        Assert.Equal("kept", await client.ReadLineAsync());
        client.Process.StandardInput.Close();
        var (exitCode, rest) = await client.FinishAsync();
        Assert.Equal(0, exitCode);
        Assert.Equal("(reconnected to 127.0.0.1:" + server.Port + ")\n", rest);
    }

    [Fact]
    public async Task Exit_says_bye_even_when_the_server_is_gone()
    {
        var server = InProcessServer.Start();
        await using var client = await ClientProcess.StartAsync("127.0.0.1", server.Port.ToString());
        await client.SendAsync("ping\n");
        Assert.Equal("PONG", await client.ReadLineAsync());
        await server.DisposeAsync();
        await client.SendAsync("exit\n");
        Assert.Equal((0, "BYE\n"), await client.FinishAsync());
    }

    [Fact]
    public async Task Redirected_output_keeps_the_exact_bytes_of_a_value()
    {
        // Its own server: the shared one's `list` belongs to the scripted session.
        await using var server = InProcessServer.Start();
        await using (var writer = await server.ConnectAsync())
            Assert.IsType<Reply.Ok>(await writer.AskAsync("set raw-escape a\e[2Jb\a"));
        Assert.Equal((0, "a\e[2Jb\a\n"), await ClientProcess.RunAsync("get raw-escape\n", "127.0.0.1",
            server.Port.ToString()));
    }

    [Fact]
    public void An_ipv6_address_is_written_in_brackets_as_the_server_log_writes_it()
    {
        Assert.Equal("[::1]:9000", new ClientConnection("::1", 9000).Address);
        Assert.Equal("localhost:9000", new ClientConnection("localhost", 9000).Address);
    }

    [Fact]
    public async Task A_request_that_meets_a_closed_connection_is_sent_again_once_on_a_new_one()
    {
        // A server that answers the client's admission ping, then closes on the first request without a reply
        // (what the client meets when a server's close has not reached it yet), and answers on the next connection.
        using var fake = new FakeServer();
        var port = fake.Port;
        var served = fake.Serve(server =>
        {
            var requests = new List<string>();
            for (var connection = 0; connection < 2; connection++)
            {
                using var peer = server.Accept();
                Assert.Equal("ping", peer.ReadLine());
                peer.Send("PONG\n");
                requests.Add(peer.ReadLine());
                if (connection == 1) peer.Send("OK\n");
            }
            return requests;
        });
        var (exitCode, output) = await ClientProcess.RunAsync("set k v\n", "127.0.0.1", port.ToString());
        Assert.Equal(["set k v", "set k v"], await served.WaitAsync(Programs.Timeout()));
        Assert.Equal((0, $"OK\n(reconnected to 127.0.0.1:{port})\n"), (exitCode, output));
    }
}
