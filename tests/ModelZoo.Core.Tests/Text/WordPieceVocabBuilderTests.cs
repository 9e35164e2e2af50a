using ModelZoo.Core.Text;

namespace ModelZoo.Core.Tests.Text;

public class WordPieceVocabBuilderTests
{
    // The Hugging Face course's WordPiece example: hug x10, pug x5, pun x12, bun x4, hugs x5.
    static readonly Dictionary<string, long> Course = new() { ["hug"] = 10, ["pug"] = 5, ["pun"] = 12, ["bun"] = 4, ["hugs"] = 5 };
    const int AlphabetEnd = 5 + 7 + 7; // specials, b g h n p s u, and their ## forms

    [Fact]
    public void Vocabulary_StartsWithTheSpecialTokens_ThenEveryCharacter_ThenItsContinuationForm()
    {
        var v = WordPieceVocabBuilder.BuildFromWordCounts(Course, AlphabetEnd);
        v.Take(5).ShouldBe(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
        v.Skip(5).Take(7).ShouldBe(["b", "g", "h", "n", "p", "s", "u"]);
        v.Skip(12).Take(7).ShouldBe(["##b", "##g", "##h", "##n", "##p", "##s", "##u"]);
        v.Count.ShouldBe(AlphabetEnd);
    }

    [Fact]
    public void FrequencyScoring_MergesTheMostFrequentPairFirst_AsWorkedOutByHand()
    {
        // ##u ##g occurs 10+5+5 = 20 times; then ##u ##n 12+4 = 16; then h ##ug 10+5 = 15.
        var v = WordPieceVocabBuilder.BuildFromWordCounts(Course, AlphabetEnd + 3, WordPieceScoring.Frequency);
        v.Skip(AlphabetEnd).ShouldBe(["##ug", "##un", "hug"]);
    }

    [Fact]
    public void LikelihoodScoring_PrefersPiecesWhosePartsAreSeldomApart_AsInTheCourse()
    {
        // ##g ##s: 5 / (20 * 5) = 0.05 beats every pair with ##u (36 occurrences): 1/36 = 0.028.
        var v = WordPieceVocabBuilder.BuildFromWordCounts(Course, AlphabetEnd + 1, WordPieceScoring.Likelihood);
        v[AlphabetEnd].ShouldBe("##gs");
    }

    [Fact]
    public void Build_IsDeterministic_WhateverTheOrderOfTheDocuments()
    {
        var texts = Enumerable.Range(0, 200).Select(i => $"Document {i}: the quick brown fox {i % 7} jumps over the lazy dog {i % 13}.").ToList();
        var a = WordPieceVocabBuilder.Build(texts, 120);
        var b = WordPieceVocabBuilder.Build(Enumerable.Reverse(texts), 120);
        b.ShouldBe(a);
        a.Count.ShouldBe(120);
        a.Distinct().Count().ShouldBe(a.Count);
    }

    [Fact]
    public void EveryTrainingText_EncodesWithoutUnknownTokens_EvenRareCharactersMidWord()
    {
        string[] texts = ["Ça va? Naïve café — 東京 in 2026!", "x😀y and ß, Ωmega", "the the the the theorem"];
        var v = WordPieceVocabBuilder.Build(texts, 60);
        var enc = WordPieceTokenizer.FromTokens(v, lowercase: true);
        foreach (var t in texts) enc.Tokenize(t).ShouldNotContain(WordPieceVocabBuilder.UnkId, t);
        v.ShouldContain("😀");
        v.ShouldContain("##😀");
        v.ShouldContain("c", "accents are stripped as in uncased BERT: 'ç' becomes 'c'");
        v.ShouldNotContain("ç");
    }

    [Fact]
    public void MinPairFrequency_StopsMergingPairsSeenTooRarely()
    {
        var v = WordPieceVocabBuilder.BuildFromWordCounts(new Dictionary<string, long> { ["ab"] = 1, ["cd"] = 3 }, 100, minPairFrequency: 2);
        v.ShouldContain("cd");
        v.ShouldNotContain("ab");
    }

    [Fact]
    public void Write_ThenRead_RoundTrips_AndRefusesAPieceWithANewline()
    {
        var path = Path.Combine(Path.GetTempPath(), $"vocab-{Guid.NewGuid():N}.txt");
        try
        {
            var v = WordPieceVocabBuilder.BuildFromWordCounts(Course, 22);
            WordPieceVocabBuilder.Write(path, v);
            WordPieceTokenizer.FromVocabFile(path, lowercase: true).Tokens.ShouldBe(v);
            Should.Throw<ArgumentException>(() => WordPieceVocabBuilder.Write(path, ["[PAD]", "a\nb"])).Message.ShouldContain("a\nb");
            WordPieceTokenizer.FromVocabFile(path, lowercase: true).Tokens.ShouldBe(v, "a refused write leaves the old file as it was");
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void TheTokenizer_UsesTheLearntPieces_GreedyLongestMatchFirst()
    {
        var v = WordPieceVocabBuilder.BuildFromWordCounts(Course, AlphabetEnd + 3, WordPieceScoring.Frequency);
        var enc = WordPieceTokenizer.FromTokens(v, lowercase: true);
        enc.Tokenize("Hugs bun").Select(i => v[i]).ShouldBe(["hug", "##s", "b", "##un"]);
        enc.Tokenize("hugs!").ShouldContain(WordPieceVocabBuilder.UnkId, "a character the vocabulary never saw is [UNK]");
        enc.Tokenize("hug [MASK]").Select(i => v[i]).ShouldBe(["hug", "[MASK]"], "special tokens written in text keep their ids");
    }
}
