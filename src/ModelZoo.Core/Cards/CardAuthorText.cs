namespace ModelZoo.Core.Cards;

/// <summary>
/// The parts of a model card only a person can write (Mitchell et al. 2019, "Model Cards for Model Reporting":
/// intended use, ethical considerations). The portal never invents them: an empty section is shown as a marked
/// placeholder, and what an author writes is kept in versions beside the generated card, never mixed into it.
/// </summary>
public sealed record CardAuthorText(string? IntendedUse, string? EthicalConsiderations)
{
    public static CardAuthorText Empty { get; } = new(null, null);

    /// <summary>Long enough for a real section, short enough that a card stays a page.</summary>
    public const int MaxLength = 20_000;

    public bool IsEmpty => string.IsNullOrWhiteSpace(IntendedUse) && string.IsNullOrWhiteSpace(EthicalConsiderations);

    /// <summary>Trimmed, with Windows line ends made plain; blank sections become null.</summary>
    public CardAuthorText Normalised() => new(Clean(IntendedUse), Clean(EthicalConsiderations));

    /// <summary>Problems by field (the API's and the editor's names). Author text is Markdown; the renderer disables raw
    /// HTML and unsafe links, so what is refused here is only what would break the card's shape: headings of level 1
    /// or 2 would end the section and start a new one that looks generated.</summary>
    public IReadOnlyDictionary<string, string> Validate()
    {
        var errors = new Dictionary<string, string>();
        Check("intendedUse", IntendedUse);
        Check("ethicalConsiderations", EthicalConsiderations);
        return errors;

        void Check(string field, string? text)
        {
            if (text is null) return;
            if (text.Length > MaxLength) { errors[field] = $"At most {MaxLength:N0} characters; this has {text.Length:N0}."; return; }
            var heading = Lines(text).Select((l, i) => (Line: l.TrimStart(), Number: i + 1))
                .FirstOrDefault(x => IsTopHeading(x.Line));
            if (heading.Line is not null)
                errors[field] = $"Line {heading.Number} is a level-1 or level-2 heading, which would start a new card section; use ### or deeper inside a section.";
        }
    }

    static bool IsTopHeading(string line) =>
        line.StartsWith("# ", StringComparison.Ordinal) || line == "#" || line.StartsWith("## ", StringComparison.Ordinal) || line == "##";

    static IEnumerable<string> Lines(string s) => s.Replace("\r\n", "\n").Split('\n');

    static string? Clean(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Replace("\r\n", "\n").Trim();
}

/// <summary>
/// Puts the person-written sections into a generated card. The generated card is stored as the run produced it; the
/// card people read is composed at read time, so regenerating or re-reading never loses an author's words and an
/// author can never overwrite a generated fact.
/// </summary>
public static class CardComposer
{
    public const string IntendedUseHeading = "## Intended use";
    public const string EthicalHeading = "## Ethical considerations";

    /// <summary>Marks a section no person has written yet. The text says what belongs there, and that the portal leaves it empty on purpose.</summary>
    public const string PlaceholderMark = "**To be written by a person.**";

    static readonly string IntendedUsePlaceholder =
        $"> {PlaceholderMark} Who should use this model, for which decisions and data, and what it must not be used for. " +
        "ModelZoo does not write this section: it knows how the model was trained, not what it is for.";

    static readonly string EthicalPlaceholder =
        $"> {PlaceholderMark} Risks to people the model's use may carry, sensitive data in its training set, and what was " +
        "done about them. ModelZoo does not write this section.";

    /// <summary>
    /// The card with "Intended use" after the opening paragraph (before the first generated section) and "Ethical
    /// considerations" before "Limitations", the order of Mitchell et al. Cards generated before these sections
    /// existed compose the same way, since the generated text is never edited.
    /// </summary>
    /// <param name="seedAnalysis">The run's experiment cell over seeds (<see cref="SeedAnalysis"/>), placed before the
    /// ethical considerations, as Mitchell et al. order quantitative analyses; null when there is none.</param>
    public static string Compose(string generated, CardAuthorText? author, string? seedAnalysis = null)
    {
        author ??= CardAuthorText.Empty;
        var text = generated.Replace("\r\n", "\n");
        var intended = Section(IntendedUseHeading, author.IntendedUse, IntendedUsePlaceholder);
        var ethical = (seedAnalysis is null ? "" : seedAnalysis.TrimEnd('\n') + "\n\n") + Section(EthicalHeading, author.EthicalConsiderations, EthicalPlaceholder);

        // The first level-2 heading after the title starts the generated sections (the front matter has none).
        var firstSection = IndexOfHeading(text, "## ", 0);
        if (firstSection < 0) return text.TrimEnd('\n') + "\n\n" + intended + ethical;
        text = text.Insert(firstSection, intended);
        var limitations = IndexOfHeading(text, "## Limitations", firstSection + intended.Length);
        return limitations >= 0 ? text.Insert(limitations, ethical) : text.TrimEnd('\n') + "\n\n" + ethical;
    }

    static string Section(string heading, string? body, string placeholder) =>
        $"{heading}\n\n{(string.IsNullOrWhiteSpace(body) ? placeholder : body.Trim())}\n\n";

    /// <summary>The start of a line beginning with <paramref name="prefix"/>, outside fenced code and the front matter.</summary>
    static int IndexOfHeading(string text, string prefix, int from)
    {
        var inFence = false;
        var lineStart = 0;
        var lineNo = 0;
        var inFrontMatter = text.StartsWith("---\n", StringComparison.Ordinal);
        while (lineStart < text.Length)
        {
            var end = text.IndexOf('\n', lineStart);
            var line = end < 0 ? text[lineStart..] : text[lineStart..end];
            if (inFrontMatter)
            {
                if (lineNo > 0 && line == "---") inFrontMatter = false;
            }
            else if (line.StartsWith("```", StringComparison.Ordinal)) inFence = !inFence;
            else if (!inFence && lineStart >= from && line.StartsWith(prefix, StringComparison.Ordinal)) return lineStart;
            if (end < 0) break;
            lineStart = end + 1;
            lineNo++;
        }
        return -1;
    }
}
