// tests/DocsTests.cs: README.md, the chapters in docs/ and the layout stay true to the code: the command
// reference, the help lines, the tests they name, the links between them, the file table, and each file's
// opening comment.

using System.Text;
using System.Text.RegularExpressions;
using KV;
using Xunit;

public class ReadmeTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(Programs.Root, "README.md"));

    /// <summary>README.md and every chapter in docs/, by path from the repository's root.</summary>
    private static readonly Dictionary<string, string> Documents =
        Directory.EnumerateFiles(Path.Combine(Programs.Root, "docs"), "*.md").Append(Path.Combine(Programs.Root,
            "README.md"))
            .ToDictionary(path => Path.GetRelativePath(Programs.Root, path).Replace('\\', '/'), File.ReadAllText);

    [Fact]
    public void The_reference_lists_every_command_with_its_usage_and_wire_reply()
    {
        foreach (var command in Commands.All)
        {
            var row = Regex.Match(Readme, $@"^\| `{Regex.Escape(command.Usage.Replace("|", "\\|"))}` \|.*\| (.+) \|$",
                RegexOptions.Multiline);
            Assert.True(row.Success, $"README has no reference row for '{command.Usage}'");
            Assert.Equal(command.Reply, row.Groups[1].Value.Replace("`", ""));
        }
    }

    [Fact]
    public void The_resp_reference_lists_every_command_of_the_resp_table()
    {
        var section = Documents["docs/resp.md"];
        foreach (var command in RespCommands.All)
            Assert.Matches($@"(?m)^\| [^|]*`{command.Name.ToUpperInvariant()}\b", section);
    }

    [Fact]
    public void The_programs_chapter_has_a_row_for_every_server_option_the_usage_lists()
    {
        var options = Regex.Matches(ServerOptions.FullUsage,
            @"(?m)^\s+(--[a-z-]+)").Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.Contains("--request-timeout", options);
        foreach (var option in options.Where(o => o != "--help"))
            Assert.Matches($@"(?m)^\| `{Regex.Escape(option)}\b", Documents["docs/programs.md"]);
    }

    [Fact]
    public void The_demo_shows_every_help_line_as_the_table_writes_it()
    {
        foreach (var command in Commands.All) Assert.Contains(command.HelpLine, Documents["docs/demo.md"]);
    }

    /// <summary>
    /// The number of tests README's example run shows stays near the suite's real size, counted from the
    /// attributes: a fact is one test, a theory one a row of its data.
    /// </summary>
    [Fact]
    public void The_test_count_in_the_readme_is_near_the_suite_s_size()
    {
        var tests = typeof(ReadmeTests).Assembly.GetTypes().SelectMany(type => type.GetMethods()).Sum(TestCases);
        var shown = int.Parse(Regex.Match(Readme, @"Total: (\d+), Errors").Groups[1].Value);
        Assert.InRange(shown, tests * 9 / 10, tests * 11 / 10);
    }

    /// <summary>The core's size README gives stays near the real count (comments and blanks included).</summary>
    [Fact]
    public void The_core_s_size_in_the_readme_is_near_its_line_count()
    {
        var lines = new[] { "KVServer.cs", "Protocol.cs" }
            .Concat(Programs.CoreFolders.SelectMany(folder => Directory.GetFiles(Path.Combine(Programs.Root, folder),
                "*.cs")))
            .Sum(path => File.ReadLines(Path.Combine(Programs.Root, path)).Count());
        var shown = int.Parse(Regex.Match(Readme,
            @"\*\*The core\*\* [^\n]*\n(?:[^\n]*\n)?([\d,]+) lines").Groups[1].Value
            .Replace(",", ""));
        Assert.InRange(shown, lines * 95 / 100, lines * 105 / 100);
    }

    private static int TestCases(System.Reflection.MethodInfo method)
    {
        if (!method.IsDefined(typeof(FactAttribute), inherit: true)) return 0;
        if (!method.IsDefined(typeof(TheoryAttribute), inherit: true)) return 1;
        var inline = method.GetCustomAttributes(typeof(InlineDataAttribute), inherit: false).Length;
        var members = method.GetCustomAttributes(typeof(MemberDataAttribute),
            inherit: false).Cast<MemberDataAttribute>()
            .Sum(data => (data.MemberType ?? method.DeclaringType)!.GetMember(data.MemberName).Single() switch
            {
                System.Reflection.FieldInfo field
                    => ((System.Collections.IEnumerable)field.GetValue(null)!).Cast<object>().Count(),
                System.Reflection.PropertyInfo property
                    => ((System.Collections.IEnumerable)property.GetValue(null)!).Cast<object>().Count(),
                var other => throw new NotSupportedException($"theory data from {other.MemberType} {other.Name}"),
            });
        return inline + members;
    }

    /// <summary>
    /// The start lines the documents show are the server's, but for the memory budgets, which are the machine's.
    /// </summary>
    [Fact]
    public void The_start_lines_the_documents_show_are_the_servers()
    {
        static string Portable(string summary) => Regex.Replace(summary, @"max memory \S+, max client memory \S+",
            "max memory M, max client memory C");
        var shown = Documents.Values.SelectMany(text => Regex.Matches(text,
            @"(?m)^KV server listening on .*? \((.*)\)$")).ToList();
        Assert.NotEmpty(shown);
        foreach (Match line in shown)
        {
            var options = ServerOptions.Default with { UnsafeNoLock = line.Value.Contains("STORE LOCK OFF") };
            Assert.Equal(Portable(options.Summary), Portable(line.Groups[1].Value));
        }
    }

    [Fact]
    public void Every_test_the_documents_name_exists()
    {
        foreach (var (path, text) in Documents)
            foreach (Match m in Regex.Matches(text, @"`(\w+)\.(\w+_\w+)`"))
            {
                var type = typeof(ReadmeTests).Assembly.GetType(m.Groups[1].Value);
                Assert.True(type?.GetMethod(m.Groups[2].Value) is not null,
                    $"{path} names {m.Value}, which is not a test");
            }
    }

    [Fact]
    public void Every_link_between_the_documents_and_to_the_code_leads_somewhere()
    {
        foreach (var (path, text) in Documents)
            foreach (Match link in Regex.Matches(text, @"\]\(([^)#:]+)(#[^)]+)?\)"))
            {
                var target = Path.GetFullPath(Path.Combine(Programs.Root, Path.GetDirectoryName(path)!,
                    link.Groups[1].Value));
                Assert.True(File.Exists(target) || Directory.Exists(target),
                    $"{path} links to {link.Groups[1].Value}, which is not there");
                if (link.Groups[2].Success && target.EndsWith(".md"))
                {
                    var anchor = link.Groups[2].Value[1..];
                    var headings = Regex.Matches(File.ReadAllText(target), @"(?m)^#+ (.+)$")
                        .Select(h => Regex.Replace(h.Groups[1].Value.ToLowerInvariant(), @"[^\w\- ]", "").Replace(' ',
                            '-'));
                    Assert.True(headings.Contains(anchor),
                        $"{path} links to {link.Value}, a heading that is not there");
                }
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
        const string InFolder = "^(src/(protocol|store|server|threading|slabs|memory|eviction|push|monitor|pubsub|resp"
            + "|scripting|types|client|client/editor|bench|checking)|tests)/[^/]+$";
        Assert.All(SourceFiles().Where(path => path.Contains('/')), path => Assert.Matches(InFolder, path));
    }

    [Fact]
    public void Every_file_opens_with_a_comment_naming_it_and_its_job_and_is_in_the_layout_table()
    {
        var table = File.ReadAllText(Path.Combine(Programs.Root, "docs", "layout.md"));
        foreach (var path in SourceFiles())
        {
            var firstComment = File.ReadLines(Path.Combine(Programs.Root, path)).First(line => !line.StartsWith("#!"));
            Assert.StartsWith($"// {path}: ", firstComment);
            Assert.Contains($"[`{path}`](../{path})", table);
        }
    }

    [Fact]
    public void Source_files_stay_short()
    {
        foreach (var path in SourceFiles())
        {
            var limit = path.StartsWith("tests/") ? 600 : 400;
            Assert.True(File.ReadLines(Path.Combine(Programs.Root, path)).Count() <= limit,
                $"{path} is over {limit} lines");
        }
    }

    /// <summary>Counted in UTF-8 bytes, as `awk length` counts them: stricter than characters beyond ASCII.</summary>
    [Fact]
    public void No_line_of_a_source_file_is_over_120_characters()
    {
        var tooLong = SourceFiles().SelectMany(path => File.ReadLines(Path.Combine(Programs.Root, path))
            .Select((line, i) => (path, number: i + 1, Length: Encoding.UTF8.GetByteCount(line)))
            .Where(line => line.Length > 120)).ToList();
        Assert.True(tooLong.Count == 0,
            string.Join('\n', tooLong.Take(20).Select(l => $"{l.path}:{l.number} has {l.Length}")));
    }

    [Fact]
    public async Task The_server_is_built_without_the_client_formats_library()
    {
        var serverFolder = Path.GetDirectoryName(await Programs.DllAsync("KVServer.cs"))!;
        Assert.True(File.Exists(Path.Combine(serverFolder, "KVServer.dll")));
        Assert.False(File.Exists(Path.Combine(serverFolder, "YamlDotNet.dll")),
            "the server includes src/client/Formats.cs, which only the client needs");
        var clientFolder = Path.GetDirectoryName(await Programs.DllAsync("KVClient.cs"))!;
        Assert.True(File.Exists(Path.Combine(clientFolder, "YamlDotNet.dll")));
    }
}
