using ModelZoo.Core.Text;

namespace ModelZoo.Core.Tests.Text;

public class PretrainingOverlapTests
{
    const string Fortune = "A journey of a thousand miles begins with a single step.";
    const string Speech = "We hold these truths to be self-evident, that all men are created equal. Short one here. And the rest of this speech goes on about nothing much at all today.";

    static CorpusFingerprints Corpus() => CorpusFingerprints.Of([Fortune, Speech, "too short"]);

    [Fact]
    public void Normalise_ForgivesCaseAccentsPunctuationAndSpacing_AndNothingElse()
    {
        TextFingerprint.Normalise("  Café,   CRÈME!\n\t— brûlée?? ").ShouldBe("cafe creme brulee");
        TextFingerprint.Normalise("it's 3 o'clock").ShouldBe("it s 3 o clock");
        TextFingerprint.Normalise("cafe creme").ShouldNotBe(TextFingerprint.Normalise("cafe cream"));
    }

    [Fact]
    public void A_Text_Overlaps_WhenItOrOneOfItsLongSentencesIsInTheCorpus()
    {
        var corpus = Corpus();
        corpus.Overlaps("a JOURNEY of a thousand miles begins with a single step").ShouldBeTrue();
        // A sentence of the speech inside another text, and the speech's sentence on its own.
        corpus.Overlaps("Opening remark. We hold these truths to be self evident that all men are created equal! Closing.").ShouldBeTrue();
        corpus.Overlaps("We hold these truths to be self-evident, that all men are created equal.").ShouldBeTrue();
        // One word changed, a sentence under eight words, and a short whole text are not overlaps.
        corpus.Overlaps("A journey of a thousand miles begins with a single stride.").ShouldBeFalse();
        corpus.Overlaps("Something else entirely. Short one here.").ShouldBeFalse();
        corpus.Overlaps("too short").ShouldBeFalse();
    }

    [Fact]
    public void Measure_CountsPerSplit_AndKeepsAFewExamples()
    {
        var longer = Speech + " " + string.Join(' ', Enumerable.Repeat("More words follow here.", 10));
        var texts = new[] { Fortune, "An unrelated message about a meeting at three.", longer, "Yet another new text that nobody pretrained on, surely." };
        var o = Corpus().Measure("fortunes and speeches", texts, [("train", [0, 1]), ("test", [2, 3])]);
        o.Corpus.ShouldBe("fortunes and speeches");
        o.Splits.Select(s => (s.Split, s.Examples, s.Overlapping)).ShouldBe([("train", 2, 1), ("test", 2, 1)]);
        o.Test!.Fraction.ShouldBe(0.5);
        o.Any.ShouldBeTrue();
        o.Examples.Count.ShouldBe(2);
        o.Examples[0].ShouldBe(Fortune);
        // A long text is shortened for the card.
        o.Examples[1].ShouldStartWith("We hold these truths");
        o.Examples[1].ShouldEndWith("...");
        o.Examples[1].Length.ShouldBe(160);
    }

    [Fact]
    public void TheFile_RoundTrips_AndABrokenOneIsRefusedRatherThanReadAsNoOverlap()
    {
        var corpus = Corpus();
        using var ms = new MemoryStream();
        corpus.Write(ms);
        var bytes = ms.ToArray();
        var back = CorpusFingerprints.Read(bytes);
        back.Count.ShouldBe(corpus.Count);
        back.Overlaps(Fortune).ShouldBeTrue();

        Should.Throw<InvalidDataException>(() => CorpusFingerprints.Read(bytes[..^3])).Message.ShouldContain("the header says");
        Should.Throw<InvalidDataException>(() => CorpusFingerprints.Read("GIF89a..."u8.ToArray())).Message.ShouldContain("MZFP1");
        // Exchange the first two hashes (after the 5-byte magic and 4-byte count): the set is then out of order,
        // which a binary search would misread.
        var swapped = (byte[])bytes.Clone();
        bytes.AsSpan(17, 8).CopyTo(swapped.AsSpan(9, 8));
        bytes.AsSpan(9, 8).CopyTo(swapped.AsSpan(17, 8));
        Should.Throw<InvalidDataException>(() => CorpusFingerprints.Read(swapped)).Message.ShouldContain("out of order");
    }
}
