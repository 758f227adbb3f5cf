// tests/DocsTests.cs: README.md and the layout stay true to the code: the command reference, the help lines,
// the tests it names, the file table, and each file's opening comment.

using System.Text.RegularExpressions;
using KV;
using Xunit;

public class ReadmeTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(Programs.Root, "README.md"));

    [Fact]
    public void The_reference_lists_every_command_with_its_usage_and_wire_reply()
    {
        foreach (var command in Commands.All)
        {
            var row = Regex.Match(Readme, $@"^\| `{Regex.Escape(command.Usage.Replace("|", "\\|"))}` \|.*\| (.+) \|$", RegexOptions.Multiline);
            Assert.True(row.Success, $"README has no reference row for '{command.Usage}'");
            Assert.Equal(command.Reply, row.Groups[1].Value.Replace("`", ""));
        }
    }

    [Fact]
    public void The_resp_reference_lists_every_command_of_the_resp_table()
    {
        var section = Readme[Readme.IndexOf("### Speaking RESP")..Readme.IndexOf("### When you outgrow KV")];
        foreach (var command in RespCommands.All)
            Assert.Matches($@"(?m)^\| [^|]*`{command.Name.ToUpperInvariant()}\b", section);
    }

    [Fact]
    public void The_demo_shows_every_help_line_as_the_table_writes_it()
    {
        foreach (var command in Commands.All) Assert.Contains(command.HelpLine, Readme);
    }

    [Fact]
    public void Every_test_the_readme_names_exists()
    {
        var named = Regex.Matches(Readme, @"`(\w+)\.(\w+_\w+)`").Select(m => (Class: m.Groups[1].Value, Method: m.Groups[2].Value)).ToList();
        Assert.NotEmpty(named);
        foreach (var (className, method) in named)
        {
            var type = typeof(ReadmeTests).Assembly.GetType(className);
            Assert.True(type?.GetMethod(method) is not null, $"README names {className}.{method}, which is not a test");
        }
    }
}

public class LayoutTests
{
    private static readonly string[] EntryFiles = ["KVServer.cs", "KVClient.cs", "Protocol.cs", "tests.cs", "bench.cs"];

    /// <summary>Every C# file of the repository, as a path from its root with forward slashes.</summary>
    private static IEnumerable<string> SourceFiles() =>
        Directory.EnumerateFiles(Programs.Root, "*.cs", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(Programs.Root, path).Replace('\\', '/'))
            .Where(path => !path.StartsWith("bin/") && !path.StartsWith("obj/"))
            .Order(StringComparer.Ordinal);

    [Fact]
    public void The_root_holds_the_entry_files_and_the_protocol_and_every_other_part_is_in_src_or_tests()
    {
        Assert.Equal(EntryFiles.Order(StringComparer.Ordinal), SourceFiles().Where(path => !path.Contains('/')));
        // src/ by role, one folder deep (the client's editor two): the folders the entry files include.
        Assert.All(SourceFiles().Where(path => path.Contains('/')), path => Assert.Matches("^(src/(store|server|resp|client|client/editor)|tests)/[^/]+$", path));
    }

    [Fact]
    public void Every_file_opens_with_a_comment_naming_it_and_its_job_and_is_in_the_readme_table()
    {
        var readme = File.ReadAllText(Path.Combine(Programs.Root, "README.md"));
        foreach (var path in SourceFiles())
        {
            var firstComment = File.ReadLines(Path.Combine(Programs.Root, path)).First(line => !line.StartsWith("#!"));
            Assert.StartsWith($"// {path}: ", firstComment);
            Assert.Contains($"[`{path}`]({path})", readme);
        }
    }

    [Fact]
    public void Source_files_stay_short()
    {
        foreach (var path in SourceFiles())
        {
            var limit = path.StartsWith("tests/") ? 600 : 400;
            Assert.True(File.ReadLines(Path.Combine(Programs.Root, path)).Count() <= limit, $"{path} is over {limit} lines");
        }
    }

    [Fact]
    public async Task The_server_is_built_without_the_client_formats_library()
    {
        var serverFolder = Path.GetDirectoryName(await Programs.DllAsync("KVServer.cs"))!;
        Assert.True(File.Exists(Path.Combine(serverFolder, "KVServer.dll")));
        Assert.False(File.Exists(Path.Combine(serverFolder, "YamlDotNet.dll")), "the server includes src/client/Formats.cs, which only the client needs");
        var clientFolder = Path.GetDirectoryName(await Programs.DllAsync("KVClient.cs"))!;
        Assert.True(File.Exists(Path.Combine(clientFolder, "YamlDotNet.dll")));
    }
}
