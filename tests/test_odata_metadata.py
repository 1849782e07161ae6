"""$metadata (CSDL) parsing."""

from __future__ import annotations

import pytest

from bcbridge.odata import parse_metadata

EDMX = b"""<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
 <edmx:DataServices>
  <Schema Namespace="Microsoft.NAV" Alias="NAV" xmlns="http://docs.oasis-open.org/odata/ns/edm">
   <EnumType Name="itemType">
    <Member Name="Inventory" Value="0"/><Member Name="Service" Value="1"/>
    <Member Name="Non_x002D_Inventory" Value="2"/>
   </EnumType>
   <EntityType Name="base" Abstract="true">
    <Key><PropertyRef Name="id"/></Key>
    <Property Name="id" Type="Edm.Guid" Nullable="false"/>
   </EntityType>
   <EntityType Name="item" BaseType="NAV.base">
    <Property Name="number" Type="Edm.String" MaxLength="20"/>
    <Property Name="type" Type="NAV.itemType"/>
    <Property Name="unitPrice" Type="Edm.Decimal" Precision="38" Scale="Variable"/>
    <Property Name="lastModifiedDateTime" Type="Edm.DateTimeOffset">
     <Annotation Term="Org.OData.Core.V1.Computed" Bool="true"/>
    </Property>
    <Property Name="inventory" Type="Edm.Decimal">
     <Annotation Term="Org.OData.Core.V1.Permissions">
      <EnumMember>Org.OData.Core.V1.Permission/Read</EnumMember>
     </Annotation>
    </Property>
    <NavigationProperty Name="itemVariants" Type="Collection(NAV.itemVariant)" ContainsTarget="true" Partner="item"/>
    <NavigationProperty Name="itemCategory" Type="Microsoft.NAV.itemCategory"/>
   </EntityType>
   <EntityType Name="itemVariant">
    <Key><PropertyRef Name="id"/></Key>
    <Property Name="id" Type="Edm.Guid" Nullable="false"/>
    <Property Name="code" Type="Edm.String"/>
   </EntityType>
   <EntityType Name="itemCategory">
    <Key><PropertyRef Name="id"/></Key>
    <Property Name="id" Type="Edm.Guid" Nullable="false"/>
   </EntityType>
   <Action Name="post" IsBound="true">
    <Parameter Name="bindingParameter" Type="NAV.item"/>
   </Action>
   <Action Name="GetNo">
    <Parameter Name="company" Type="Edm.String"/>
   </Action>
   <EntityContainer Name="NAV">
    <EntitySet Name="items" EntityType="NAV.item">
     <NavigationPropertyBinding Path="itemCategory" Target="itemCategories"/>
    </EntitySet>
    <EntitySet Name="itemCategories" EntityType="Microsoft.NAV.itemCategory"/>
   </EntityContainer>
  </Schema>
 </edmx:DataServices>
</edmx:Edmx>
"""


def test_entity_sets_fields_keys_navigations():
    meta = parse_metadata(EDMX)
    items = meta.entity_sets["items"]
    assert items.key == ("id",)  # inherited from the base type
    assert list(items.fields) == [
        "id",
        "number",
        "type",
        "unitPrice",
        "lastModifiedDateTime",
        "inventory",
    ]
    assert items.fields["id"].nullable is False
    assert items.fields["number"].max_length == 20
    assert items.fields["type"].type == "Microsoft.NAV.itemType"  # alias resolved
    assert items.fields["unitPrice"].precision == 38 and items.fields["unitPrice"].scale == "Variable"
    assert items.fields["lastModifiedDateTime"].read_only
    assert items.fields["inventory"].read_only
    assert not items.fields["number"].read_only
    variants = items.entity_type.navigations["itemVariants"]
    assert (variants.type, variants.collection, variants.contains_target, variants.partner) == (
        "Microsoft.NAV.itemVariant",
        True,
        True,
        "item",
    )
    category = items.entity_type.navigations["itemCategory"]
    assert category.collection is False
    assert items.bindings == {"itemCategory": "itemCategories"}
    assert meta.enum_types["Microsoft.NAV.itemType"].captions == (
        "Inventory",
        "Service",
        "Non-Inventory",
    )
    assert meta.bound_actions("items") == ("post",)
    unbound = [a for a in meta.actions if a.binding is None]
    assert unbound[0].name == "GetNo" and unbound[0].parameters == {"company": "Edm.String"}


def test_refusals():
    with pytest.raises(ValueError, match="DTD"):
        parse_metadata(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    with pytest.raises(ValueError, match="not XML"):
        parse_metadata(b"<edmx:Edmx")
    with pytest.raises(ValueError, match="not edmx:Edmx"):
        parse_metadata(b"<html/>")
    broken = EDMX.replace(b'EntityType="Microsoft.NAV.itemCategory"', b'EntityType="NAV.nothing"')
    with pytest.raises(ValueError, match="unknown type"):
        parse_metadata(broken)


def test_parses_the_emulators_metadata():
    from bcbridge.emulator.bc import metadata as metadata_mod  # our own module: a broken import fails

    meta = parse_metadata(metadata_mod.metadata_xml())
    assert {"items", "customers", "salesOrders"} <= set(meta.entity_sets)
    items = meta.entity_sets["items"]
    assert items.key == ("id",)
    assert "lastModifiedDateTime" in items.fields
    assert "itemVariants" in items.entity_type.navigations
    assert "post" in meta.bound_actions("salesInvoices")


# CSDL XML 4.01 §14.2: annotations may sit in <Annotations Target="..."> blocks outside the
# annotated element, with the vocabulary's alias from <edmx:Include Alias=...>.
TARGETED = b"""<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
 <edmx:Reference Uri="https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.xml">
  <edmx:Include Alias="C" Namespace="Org.OData.Core.V1"/>
 </edmx:Reference>
 <edmx:DataServices>
  <Schema Namespace="api" xmlns="http://docs.oasis-open.org/odata/ns/edm">
   <EntityType Name="items">
    <Key><PropertyRef Name="id"/></Key>
    <Property Name="id" Type="Edm.Guid" Nullable="false"/>
    <Property Name="number" Type="Edm.String" MaxLength="20"/>
    <Property Name="lastModifiedDateTime" Type="Edm.DateTimeOffset"/>
    <Property Name="inventory" Type="Edm.Decimal"/>
   </EntityType>
   <EntityContainer Name="EntityContainer"><EntitySet Name="items" EntityType="api.items"/></EntityContainer>
   <Annotations Target="api.items/lastModifiedDateTime"><Annotation Term="C.Computed" Bool="true"/></Annotations>
   <Annotations Target="api.items/inventory">
    <Annotation Term="Org.OData.Core.V1.Permissions"><EnumMember>C.Permission/Read</EnumMember></Annotation>
   </Annotations>
  </Schema>
 </edmx:DataServices>
</edmx:Edmx>
"""


def test_annotations_target_blocks_mark_fields_read_only():
    fields = parse_metadata(TARGETED).entity_sets["items"].fields
    assert fields["lastModifiedDateTime"].read_only and fields["inventory"].read_only
    assert not fields["number"].read_only and not fields["id"].read_only


# OData CSDL JSON 4.01: $Type defaults to Edm.String and $Nullable to false (§7.2, §7.2.1);
# actions are arrays of overloads (§12); annotations inline or under $Annotations (§14.3).
CSDL_JSON = b"""{
 "$Version": "4.01",
 "$EntityContainer": "api.EntityContainer",
 "$Reference": {"https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.json":
   {"$Include": [{"$Namespace": "Org.OData.Core.V1", "$Alias": "Core"}]}},
 "api": {
  "base": {"$Kind": "EntityType", "$Abstract": true, "$Key": ["id"], "id": {"$Type": "Edm.Guid"}},
  "items": {"$Kind": "EntityType", "$BaseType": "api.base",
   "number": {"$MaxLength": 20, "$Nullable": true},
   "unitPrice": {"$Type": "Edm.Decimal", "$Precision": 18, "$Scale": 5},
   "type": {"$Type": "api.itemType"},
   "lastModifiedDateTime": {"$Type": "Edm.DateTimeOffset", "@Core.Computed": true},
   "inventory": {"$Type": "Edm.Decimal"},
   "tags": {"$Collection": true},
   "itemVariants": {"$Kind": "NavigationProperty", "$Type": "api.itemVariants", "$Collection": true,
     "$ContainsTarget": true, "$Partner": "item"}},
  "itemVariants": {"$Kind": "EntityType", "$Key": ["id"], "id": {"$Type": "Edm.Guid"}},
  "itemType": {"$Kind": "EnumType", "Inventory": 0, "Service": 1},
  "post": [{"$Kind": "Action", "$IsBound": true,
    "$Parameter": [{"$Name": "in", "$Type": "api.items"}, {"$Name": "date", "$Type": "Edm.Date"}]}],
  "EntityContainer": {"$Kind": "EntityContainer",
   "items": {"$Collection": true, "$Type": "api.items", "$NavigationPropertyBinding": {"itemVariants": "itemVariants"}},
   "itemVariants": {"$Collection": true, "$Type": "api.itemVariants"}},
  "$Annotations": {"api.items/inventory": {"@Core.Permissions": {"$EnumMember": "Core.Permission/Read"}}}
 }
}"""


def test_json_csdl_is_parsed_like_xml():
    metadata = parse_metadata(CSDL_JSON)
    items = metadata.entity_sets["items"]
    assert items.key == ("id",) and items.bindings == {"itemVariants": "itemVariants"}
    fields = items.fields
    assert fields["id"].type == "Edm.Guid" and fields["id"].nullable is False
    assert fields["number"].type == "Edm.String" and fields["number"].max_length == 20 and fields["number"].nullable
    assert (fields["unitPrice"].precision, fields["unitPrice"].scale) == (18, "5")
    assert fields["tags"].type == "Collection(Edm.String)"
    assert fields["lastModifiedDateTime"].read_only and fields["inventory"].read_only
    assert not fields["unitPrice"].read_only
    nav = items.entity_type.navigations["itemVariants"]
    assert (nav.type, nav.collection, nav.contains_target, nav.partner) == ("api.itemVariants", True, True, "item")
    assert metadata.enum_types["api.itemType"].members == ("Inventory", "Service")
    assert metadata.bound_actions("items") == ("post",)
    assert metadata.actions[0].parameters == {"date": "Edm.Date"}


def test_neither_xml_nor_json_csdl_is_refused():
    with pytest.raises(ValueError, match="JSON CSDL"):
        parse_metadata(b'{"value": []}')
