package wagewatch.esnode;

import java.io.IOException;
import java.io.StringReader;
import java.text.ParseException;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.cjk.CJKAnalyzer;
import org.apache.lucene.analysis.cjk.CJKBigramFilter;
import org.apache.lucene.analysis.cjk.CJKWidthFilter;
import org.apache.lucene.analysis.synonym.SolrSynonymParser;
import org.apache.lucene.analysis.synonym.SynonymGraphFilter;
import org.apache.lucene.analysis.synonym.SynonymMap;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.index.IndexService.IndexCreationContext;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.CharFilterFactory;
import org.elasticsearch.index.analysis.CustomAnalyzer;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.index.analysis.AbstractIndexAnalyzerProvider;
import org.elasticsearch.index.analysis.AnalyzerProvider;
import org.elasticsearch.index.analysis.PreBuiltAnalyzerProviderFactory;
import org.elasticsearch.index.analysis.PreConfiguredTokenFilter;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.indices.analysis.PreBuiltCacheFactory.CachingStrategy;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

/**
 * The Chinese analysis names a stock Elasticsearch distribution gets from its bundled analysis-common
 * module ("cjk" analyzer; "cjk_width", "cjk_bigram" and "synonym_graph" filters), built from the same
 * Lucene classes. Maven Central does not carry that module for 8.x, and without it the test node would reject
 * the mappings production uses.
 */
public final class CjkAnalysisPlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
        return Map.of("cjk", (indexSettings, environment, name, settings) -> new CjkProvider(name));
    }

    @Override
    public List<PreBuiltAnalyzerProviderFactory> getPreBuiltAnalyzerProviderFactories() {
        return List.of(new PreBuiltAnalyzerProviderFactory("cjk", CachingStrategy.LUCENE, CJKAnalyzer::new));
    }

    @Override
    public List<PreConfiguredTokenFilter> getPreConfiguredTokenFilters() {
        return List.of(
            PreConfiguredTokenFilter.singleton("cjk_width", true, CJKWidthFilter::new),
            PreConfiguredTokenFilter.singleton("cjk_bigram", false, (TokenStream in) -> new CJKBigramFilter(in))
        );
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of("synonym_graph", new AnalysisProvider<TokenFilterFactory>() {
            @Override
            public TokenFilterFactory get(IndexSettings indexSettings, Environment environment, String name, Settings settings) {
                return new SynonymGraphFactory(name, settings.getAsList("synonyms"));
            }

            @Override
            public boolean requiresAnalysisSettings() {
                return true;
            }
        });
    }

    /**
     * "synonym_graph" with inline Solr-format rules, as analysis-common defines it: the rules are analysed
     * by the part of the chain before the filter (so "拖欠工资" becomes the same bigrams a query does), then
     * Lucene's SynonymGraphFilter expands the token stream.
     */
    private static final class SynonymGraphFactory extends AbstractTokenFilterFactory {
        private final List<String> rules;

        SynonymGraphFactory(String name, List<String> rules) {
            super(name, Settings.EMPTY);
            this.rules = rules;
        }

        @Override
        public TokenStream create(TokenStream in) {
            throw new IllegalStateException("synonym_graph is built for the analyzer chain it sits in");
        }

        @Override
        public TokenFilterFactory getChainAwareTokenFilterFactory(
            IndexCreationContext context,
            TokenizerFactory tokenizer,
            List<CharFilterFactory> charFilters,
            List<TokenFilterFactory> previousTokenFilters,
            Function<String, TokenFilterFactory> allFilters
        ) {
            Analyzer before = new CustomAnalyzer(
                tokenizer,
                charFilters.toArray(new CharFilterFactory[0]),
                previousTokenFilters.toArray(new TokenFilterFactory[0])
            );
            SynonymMap map;
            try {
                SolrSynonymParser parser = new SolrSynonymParser(true, true, before);
                parser.parse(new StringReader(String.join("\n", rules)));
                map = parser.build();
            } catch (IOException | ParseException e) {
                throw new IllegalArgumentException("failed to build synonyms: " + e.getMessage(), e);
            }
            String filterName = name();
            return new TokenFilterFactory() {
                @Override
                public String name() {
                    return filterName;
                }

                @Override
                public TokenStream create(TokenStream in) {
                    return map.fst == null ? in : new SynonymGraphFilter(in, map, false);
                }
            };
        }
    }

    private static final class CjkProvider extends AbstractIndexAnalyzerProvider<CJKAnalyzer> {
        private final CJKAnalyzer analyzer = new CJKAnalyzer();

        CjkProvider(String name) {
            super(name, org.elasticsearch.common.settings.Settings.EMPTY);
        }

        @Override
        public CJKAnalyzer get() {
            return analyzer;
        }
    }
}
