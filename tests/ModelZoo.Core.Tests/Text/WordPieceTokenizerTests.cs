using ModelZoo.Core.Text;

namespace ModelZoo.Core.Tests.Text;

public class WordPieceTokenizerTests
{
    static readonly string[] Vocab =
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", ".", "##s", "𠀀", "a", "##a"];

    static WordPieceTokenizer Tok() => WordPieceTokenizer.FromTokens(Vocab, lowercase: true);

    [Fact]
    public void EncodeBatch_PadsToTheLongestText_NotToMaxLength()
    {
        var batch = Tok().EncodeBatch(["the cat", "the cat sat on the mat ."], maxLength: 64);
        batch.Select(e => e.Length).ShouldBe([9, 9]);
        batch[0].InputIds.ShouldBe([2, 5, 6, 3, 0, 0, 0, 0, 0]);
        batch[0].AttentionMask.ShouldBe([1, 1, 1, 1, 0, 0, 0, 0, 0]);
        batch[1].AttentionMask.ShouldAllBe(m => m == 1);
    }

    [Fact]
    public void EncodeBatch_TruncatesToMaxLength_AndSaysSo()
    {
        var batch = Tok().EncodeBatch(["the cat sat on the mat .", "cat"], maxLength: 5, TextPadding.MaxLength);
        batch[0].InputIds.ShouldBe([2, 5, 6, 7, 3]);
        batch[0].Truncated.ShouldBeTrue();
        batch[1].InputIds.ShouldBe([2, 6, 3, 0, 0]);
        batch[1].Truncated.ShouldBeFalse();
        batch[1].RealLength.ShouldBe(3);
    }

    [Fact]
    public void Encode_WithoutPadding_StopsAtSep() =>
        Tok().Encode("Cats", 16, pad: false).InputIds.ShouldBe([2, 6, 11, 3]);

    [Fact]
    public void AstralCjkIdeographs_AreSeparateTokens_ByCodePoint()
    {
        // U+20000 is in BERT's _is_chinese_char ranges; the JS reference tests UTF-16 units and misses it, so this
        // case is pinned here from the Python/Rust definition instead of the fixture.
        Tok().TokenizeToStrings("a𠀀a").ShouldBe(["a", "𠀀", "a"]);
        BasicTokenizer.Tokenize("x\U00020000y", lowercase: false).ShouldBe(["x", "\U00020000", "y"]);
    }

    [Fact]
    public void CountTokens_CountsPiecesBeforeTruncation() => Tok().CountTokens("the cats sat on the mat.").ShouldBe(8);

    [Fact]
    public void FromTokens_RefusesAVocabularyWithoutBertsSpecialTokens()
    {
        var e = Should.Throw<VocabularyException>(() => WordPieceTokenizer.FromTokens(["[PAD]", "the"], true));
        e.Message.ShouldContain("[UNK]");
        e.Message.ShouldContain("[CLS]");
        e.Message.ShouldContain("[SEP]");
    }

    [Fact]
    public void FromVocabFile_NamesTheFileAndTheRepeatedToken()
    {
        var path = Path.Combine(Path.GetTempPath(), $"vocab-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\ncat\nthe\n");
        try
        {
            var e = Should.Throw<VocabularyException>(() => WordPieceTokenizer.FromVocabFile(path, true));
            e.Message.ShouldContain(path);
            e.Message.ShouldContain("line 7");
            e.Message.ShouldContain("'the'");
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void FromVocabFile_RefusesMissingAndNonUtf8Files()
    {
        Should.Throw<VocabularyException>(() => WordPieceTokenizer.FromVocabFile("/nonexistent/vocab.txt", true)).Message.ShouldContain("does not exist");
        var path = Path.Combine(Path.GetTempPath(), $"vocab-{Guid.NewGuid():N}.txt");
        File.WriteAllBytes(path, [(byte)'a', 0xFF, 0xFE, (byte)'\n']);
        try { Should.Throw<VocabularyException>(() => WordPieceTokenizer.FromVocabFile(path, true)).Message.ShouldContain("not UTF-8"); }
        finally { File.Delete(path); }
    }

    [Fact]
    public void FromVocabFile_IdsAreLineNumbers_CrLfTolerated()
    {
        var path = Path.Combine(Path.GetTempPath(), $"vocab-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\ncat\r\n");
        try
        {
            var tok = WordPieceTokenizer.FromVocabFile(path, true);
            tok.VocabSize.ShouldBe(5);
            tok.TokenToId("cat").ShouldBe(4);
            tok.MaskId.ShouldBe(-1);
            tok.Encode("cat dog", 4).InputIds.ShouldBe([2, 4, 1, 3]);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Encode_RefusesAMaxLengthWithNoRoomForAToken() =>
        Should.Throw<ArgumentOutOfRangeException>(() => Tok().Encode("cat", 2));
}
