using System.Text.Json;
using ModelZoo.Core.Text;

namespace ModelZoo.Core.Tests.Text;

/// <summary>
/// Our tokenizer against Hugging Face's own JS tokenizer on a vocabulary and sentences we wrote
/// (TestData/wordpiece_expected.json; make_wordpiece_expected.mjs names the package and the command).
/// </summary>
public class WordPieceTokenizerParityTests
{
    static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Text", "TestData");
    static readonly JsonDocument Expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "wordpiece_expected.json")));

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var config in Expected.RootElement.GetProperty("configs").EnumerateArray())
            for (var i = 0; i < Expected.RootElement.GetProperty("cases").GetArrayLength(); i++)
                data.Add(config.GetProperty("name").GetString()!, i);
        return data;
    }

    static WordPieceTokenizer For(string config)
    {
        var c = Expected.RootElement.GetProperty("configs").EnumerateArray().Single(e => e.GetProperty("name").GetString() == config);
        var strip = c.GetProperty("strip_accents");
        return WordPieceTokenizer.FromVocabFile(Path.Combine(Dir, "vocab.txt"), c.GetProperty("lowercase").GetBoolean(),
            strip.ValueKind == JsonValueKind.Null ? null : strip.GetBoolean());
    }

    static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    [Fact]
    public void Fixture_NamesItsReferenceAndCoversEnoughCases()
    {
        Expected.RootElement.GetProperty("reference").GetProperty("package").GetString().ShouldBe("@huggingface/tokenizers@0.2.0");
        Expected.RootElement.GetProperty("cases").GetArrayLength().ShouldBeGreaterThanOrEqualTo(30);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Encode_MatchesHuggingFace(string config, int index)
    {
        var tok = For(config);
        var c = Expected.RootElement.GetProperty("cases")[index];
        var text = c.GetProperty("text").GetString()!;
        var maxLength = c.GetProperty("max_length").GetInt32();
        var want = c.GetProperty("expected").GetProperty(config);

        tok.TokenizeToStrings(text).ShouldBe(want.GetProperty("tokens").EnumerateArray().Select(x => x.GetString()!).ToList(), $"tokens of {JsonSerializer.Serialize(text)}");
        tok.Tokenize(text).ShouldBe(Ints(want.GetProperty("ids")));
        tok.CountTokens(text).ShouldBe(want.GetProperty("ids").GetArrayLength());

        var e = tok.Encode(text, maxLength);
        e.InputIds.ShouldBe(Ints(want.GetProperty("input_ids")));
        e.AttentionMask.ShouldBe(Ints(want.GetProperty("attention_mask")));
        e.TokenTypeIds.ShouldBe(Ints(want.GetProperty("token_type_ids")));
    }
}
