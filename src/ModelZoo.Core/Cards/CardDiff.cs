using DiffPlex.DiffBuilder;
using DiffPlex.DiffBuilder.Model;

namespace ModelZoo.Core.Cards;

public enum SectionChange { Same, Changed, Added, Removed }

public enum LineChange { Same, Added, Removed }

public sealed record DiffLine(LineChange Change, string Text);

/// <summary>One section of two cards: its heading, both texts (null where a card lacks it) and the line diff.</summary>
public sealed record SectionDiff(string Heading, SectionChange Change, string? A, string? B, IReadOnlyList<DiffLine> Lines)
{
    public int Added => Lines.Count(l => l.Change == LineChange.Added);
    public int Removed => Lines.Count(l => l.Change == LineChange.Removed);
}

/// <summary>
/// Two cards compared section by section (two runs' cards, or two versions of one card). A reviewer reads cards by
/// section, so sections are matched by heading, not by position: a section one card lacks is added or removed as a
/// whole, and only sections both have are diffed line by line (DiffPlex, Myers' algorithm). The metadata block and the
/// title with its opening paragraph are sections of their own.
/// </summary>
public static class CardDiff
{
    public const string FrontMatter = "Metadata (YAML front matter)";
    public const string Opening = "Title and summary";

    public static IReadOnlyList<SectionDiff> Compare(string a, string b)
    {
        var left = Split(a);
        var right = Split(b);
        var rightByHeading = right.GroupBy(s => s.Heading).ToDictionary(g => g.Key, g => g.First().Body);
        var leftHeadings = left.Select(s => s.Heading).ToHashSet();
        var result = new List<SectionDiff>();

        // A's order, with B's new sections placed after the section that precedes them in B.
        var order = new List<string>();
        foreach (var (heading, _) in left) if (!order.Contains(heading)) order.Add(heading);
        string? previous = null;
        foreach (var (heading, _) in right)
        {
            if (!order.Contains(heading))
                order.Insert(previous is null ? 0 : order.IndexOf(previous) + 1, heading);
            previous = heading;
        }

        var leftByHeading = left.GroupBy(s => s.Heading).ToDictionary(g => g.Key, g => g.First().Body);
        foreach (var heading in order)
        {
            var inA = leftByHeading.TryGetValue(heading, out var textA);
            var inB = rightByHeading.TryGetValue(heading, out var textB);
            if (inA && inB)
            {
                var lines = LineDiff(textA!, textB!);
                result.Add(new SectionDiff(heading, lines.All(l => l.Change == LineChange.Same) ? SectionChange.Same : SectionChange.Changed, textA, textB, lines));
            }
            else if (inA)
                result.Add(new SectionDiff(heading, SectionChange.Removed, textA, null, Lines(textA!).Select(l => new DiffLine(LineChange.Removed, l)).ToList()));
            else
                result.Add(new SectionDiff(heading, SectionChange.Added, null, textB, Lines(textB!).Select(l => new DiffLine(LineChange.Added, l)).ToList()));
        }
        return result;
    }

    /// <summary>The card's sections in order: front matter, opening (title and summary), then each level-2 section.
    /// Headings inside fenced code are text, not sections.</summary>
    public static IReadOnlyList<(string Heading, string Body)> Split(string markdown)
    {
        var lines = Lines(markdown);
        var sections = new List<(string, string)>();
        var i = 0;
        if (lines.Count > 0 && lines[0] == "---")
        {
            var end = lines.FindIndex(1, l => l == "---");
            if (end > 0)
            {
                sections.Add((FrontMatter, string.Join('\n', lines.Skip(1).Take(end - 1))));
                i = end + 1;
            }
        }
        var heading = Opening;
        var body = new List<string>();
        var inFence = false;
        for (; i < lines.Count; i++)
        {
            var line = lines[i];
            if (line.StartsWith("```", StringComparison.Ordinal)) inFence = !inFence;
            if (!inFence && line.StartsWith("## ", StringComparison.Ordinal))
            {
                Flush();
                heading = line[3..].Trim();
                continue;
            }
            body.Add(line);
        }
        Flush();
        return sections;

        void Flush()
        {
            var text = string.Join('\n', body).Trim('\n');
            if (heading != Opening || text.Length > 0) sections.Add((heading, text));
            body.Clear();
        }
    }

    static List<DiffLine> LineDiff(string a, string b)
    {
        // Whitespace counts: in Markdown an indented line can mean something else (a nested item, code).
        var model = InlineDiffBuilder.Diff(a, b, ignoreWhiteSpace: false);
        return model.Lines.Where(l => l.Type != ChangeType.Imaginary)
            .Select(l => new DiffLine(l.Type switch
            {
                ChangeType.Inserted => LineChange.Added,
                ChangeType.Deleted => LineChange.Removed,
                _ => LineChange.Same,
            }, l.Text ?? "")).ToList();
    }

    static List<string> Lines(string s) => s.Replace("\r\n", "\n").Split('\n').ToList();
}
