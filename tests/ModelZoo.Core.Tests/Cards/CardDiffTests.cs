using ModelZoo.Core.Cards;

namespace ModelZoo.Core.Tests.Cards;

/// <summary>Cards compared the way a reviewer reads them: by section, matched by heading.</summary>
public class CardDiffTests
{
    const string A = "---\nlicense: mit\ntags:\n- a\n---\n\n# digits\n\nA classifier.\n\n## Results\n\n| metric | value |\n| --- | --- |\n| test accuracy | 87.65 % |\n\n## Training data\n\nDigits.\n\n## Limitations\n\n- Test split only.\n";

    [Fact]
    public void Split_GivesTheFrontMatter_TheOpening_AndEachSection_IgnoringHeadingsInCode()
    {
        var sections = CardDiff.Split(A.Replace("Digits.", "Digits.\n\n```\n## not a section\n```"));
        sections.Select(s => s.Heading).ShouldBe([CardDiff.FrontMatter, CardDiff.Opening, "Results", "Training data", "Limitations"]);
        sections[0].Body.ShouldBe("license: mit\ntags:\n- a");
        sections[1].Body.ShouldBe("# digits\n\nA classifier.");
        sections[3].Body.ShouldContain("## not a section");
    }

    [Fact]
    public void TheSameCard_HasNoChange()
    {
        CardDiff.Compare(A, A).ShouldAllBe(s => s.Change == SectionChange.Same && s.Added == 0 && s.Removed == 0);
    }

    [Fact]
    public void AChangedLine_IsOneRemovedAndOneAddedLine_InItsSectionOnly()
    {
        var diff = CardDiff.Compare(A, A.Replace("87.65 %", "91.20 %"));
        var results = diff.Single(s => s.Heading == "Results");
        results.Change.ShouldBe(SectionChange.Changed);
        results.Lines.Where(l => l.Change != LineChange.Same).ShouldBe([
            new DiffLine(LineChange.Removed, "| test accuracy | 87.65 % |"), new DiffLine(LineChange.Added, "| test accuracy | 91.20 % |")]);
        diff.Where(s => s.Heading != "Results").ShouldAllBe(s => s.Change == SectionChange.Same);
    }

    [Fact]
    public void SectionsOnlyOneCardHas_AreAddedOrRemovedWhole_InTheirPlace()
    {
        var b = A.Replace("## Training data\n\nDigits.\n\n", "").Replace("## Limitations", "## Training procedure\n\nAdamW.\n\n## Limitations");
        var diff = CardDiff.Compare(A, b);
        diff.Select(s => (s.Heading, s.Change)).ShouldBe([
            (CardDiff.FrontMatter, SectionChange.Same), (CardDiff.Opening, SectionChange.Same), ("Results", SectionChange.Same),
            ("Training procedure", SectionChange.Added), ("Training data", SectionChange.Removed), ("Limitations", SectionChange.Same)]);
        diff.Single(s => s.Heading == "Training procedure").Lines.ShouldBe([new DiffLine(LineChange.Added, "AdamW.")]);
        diff.Single(s => s.Heading == "Training data").B.ShouldBeNull();
    }

    [Fact]
    public void TwoVersionsOfOneCard_DifferOnlyInTheWrittenSections()
    {
        var v0 = CardComposer.Compose(A, null);
        var v1 = CardComposer.Compose(A, new CardAuthorText("For the archive.", null));
        var changed = CardDiff.Compare(v0, v1).Where(s => s.Change != SectionChange.Same).ToList();
        changed.Select(s => s.Heading).ShouldBe(["Intended use"]);
        changed[0].Lines.ShouldContain(new DiffLine(LineChange.Added, "For the archive."));
        changed[0].Lines.ShouldContain(l => l.Change == LineChange.Removed && l.Text.Contains(CardComposer.PlaceholderMark));
    }
}
